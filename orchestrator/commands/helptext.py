"""What each command's help adds to its options (issue 19): the options in groups, and 1-3 examples.

Plain data, read only when help is printed (commands/common.py's Command): the help stays click's plain
text, with no rich and no domain module loaded. An option's group is its command's own choice when
`GROUPS` has one, else the one of the shared vocabulary (`SHARED`); the rest are "Other options", last.
tests/cli/test_help.py checks that every example parses against the real CLI.
"""

from __future__ import annotations

TARGET = "Target (where the outputs come from, which service)"
WHAT = "What to release"
FOLLOW = "Following the deployment"
SEVERAL = "Several services"
OUTPUT = "Output"
BUILD = "Build"
OTHER = "Other options"

# The order groups are printed in.
ORDER = (WHAT, BUILD, FOLLOW, SEVERAL, TARGET, OUTPUT)

SHARED: dict[str, str] = {
    **dict.fromkeys(("--terraform-dir", "--env", "--outputs-file", "--sandbox", "--service", "--all"), TARGET),
    **dict.fromkeys(
        (
            "--image",
            "--taskdef",
            "--appspec",
            "--container",
            "--container-env",
            "--deployment-config",
            "--pre-task",
            "--pre-task-timeout",
            "--out-file",
            "--out-dir",
        ),
        WHAT,
    ),
    **dict.fromkeys(
        ("--wait", "--wait-until", "--timeout", "--if-active", "--force", "--stop-on-cancel", "--on-timeout"), FOLLOW
    ),
    **dict.fromkeys(("--max-parallel", "--atomic"), SEVERAL),
    **dict.fromkeys(("--build", "--build-context", "--builder"), BUILD),
    **dict.fromkeys(("--output", "--dry-run", "--show-values", "--notify"), OUTPUT),
}

_FAULT_DEPLOYMENT = "Faults of the next deployment"
_FAULT_CALLS = "Faults of every call (until --clear)"
_FAULT_HOOKS = "Hook rules"
_FAULT_TASKS = "Faults of the next RunTask"

# A command's own groups, where the shared one does not fit (or the option is the command's own).
GROUPS: dict[str, dict[str, str]] = {
    "build": dict.fromkeys(
        (
            "--context",
            "--file",
            "--tag",
            "--builder",
            "--build-arg",
            "--platform",
            "--repository",
            "--no-push",
            "--require-clean",
        ),
        BUILD,
    ),
    "run": dict.fromkeys(("--taskdef", "--live", "--image", "--container-env", "--timeout"), "What to run"),
    "rollback": {"--to": WHAT},
    "stop": {"--deployment-id": WHAT, "--no-rollback": WHAT},
    "approve": {"--deployment-id": WHAT, "--termination-wait": WHAT},
    "status": {"--watch": FOLLOW},
    "migrate": {"--to": "The switch", "--migration-file": "The switch", "--timeout": "The switch"},
    "history": {"--limit": OUTPUT},
    "adopt": dict.fromkeys(
        (
            "--cluster",
            "--ecs-service",
            "--key",
            "--container",
            "--omit-env",
            "--plain-env",
            "--top-level",
            "--project-root",
            "--force",
        ),
        "The service and its files",
    ),
    "doctor": {"--taskdef": "Files checked", "--appspec": "Files checked", "--deployment-config": "Files checked"},
    "sandbox ecs-fault": {
        **dict.fromkeys(
            ("--service", "--fail-at", "--message", "--unhealthy", "--no-start", "--stopped-reason"), _FAULT_DEPLOYMENT
        ),
        **dict.fromkeys(("--hook", "--hook-result", "--hook-delay"), _FAULT_HOOKS),
    },
    "sandbox fault": {
        **dict.fromkeys(("--fail-at", "--message", "--unhealthy", "--group"), _FAULT_DEPLOYMENT),
        **dict.fromkeys(("--throttle", "--latency-ms", "--error-rate", "--error-after-rate", "--action"), _FAULT_CALLS),
        **dict.fromkeys(("--hook", "--hook-result", "--hook-delay"), _FAULT_HOOKS),
        **dict.fromkeys(
            ("--task-exit-code", "--task-log", "--task-run-seconds", "--task-no-start", "--task-stopped-reason"),
            _FAULT_TASKS,
        ),
    },
}

# Commands whose options are few or all of a kind: one list, as click prints it.
UNGROUPED = frozenset({"sandbox up", "sandbox down", "sandbox status", "sandbox env", "infra"})

EXAMPLES: dict[str, tuple[str, ...]] = {
    "render": (
        'orchestrator render --env dev --image "$IMAGE" --out-file taskdef-new.json',
        'orchestrator render --env dev --all --image "$IMAGE" --out-dir rendered',
    ),
    "release": (
        'orchestrator release --env dev --image "$IMAGE"',
        "orchestrator release --env prod --build --wait-until traffic-shifted",
        "orchestrator release --env prod --all --atomic --image web=repo/web:abc",
    ),
    "deploy": (
        "orchestrator deploy taskdef-new.json --env prod",
        "orchestrator deploy rendered --env prod --all --atomic",
    ),
    "build": (
        "orchestrator build --env dev --require-clean",
        "orchestrator build --sandbox --builder buildah --context app",
    ),
    "run": (
        "orchestrator run --env dev -- python manage.py migrate",
        "orchestrator run --env dev --live --timeout 600 -- ./bin/check",
    ),
    "status": (
        "orchestrator status --env prod",
        "orchestrator status --env prod --watch",
        "orchestrator status --sandbox --all",
    ),
    "history": (
        "orchestrator history --env prod --limit 5",
        "orchestrator history --sandbox --all --output json",
    ),
    "rollback": (
        "orchestrator rollback --env prod",
        "orchestrator rollback --env prod --to demo-web:41",
    ),
    "stop": (
        "orchestrator stop --env prod",
        "orchestrator stop --env prod --no-rollback --no-wait",
    ),
    "approve": (
        "orchestrator approve --env prod",
        "orchestrator approve --env prod --termination-wait",
    ),
    "doctor": (
        "orchestrator doctor --env prod",
        "orchestrator doctor --sandbox --all",
    ),
    "sandbox up": (
        "orchestrator sandbox up",
        "orchestrator sandbox up --service web --service api --time-scale 0.02",
    ),
    "sandbox down": ("orchestrator sandbox down",),
    "sandbox status": ("orchestrator sandbox status", "orchestrator sandbox status --output json"),
    "sandbox env": ('eval "$(orchestrator sandbox env)"',),
    "sandbox fault": (
        "orchestrator sandbox fault --unhealthy",
        'orchestrator sandbox fault --fail-at Install --message "no capacity"',
        "orchestrator sandbox fault --clear",
    ),
    "sandbox ecs-fault": (
        "orchestrator sandbox ecs-fault --service web --unhealthy",
        "orchestrator sandbox ecs-fault --hook PRE_SCALE_UP --hook-result fail",
        "orchestrator sandbox ecs-fault --clear",
    ),
    "migrate": (
        "orchestrator migrate --to ecs --env prod --service web --dry-run",
        "orchestrator migrate --to ecs --env prod --service web",
    ),
    "diff": (
        "orchestrator diff --env prod --service web",
        "orchestrator diff --env prod --all --image web=registry.example/web:abc1234",
    ),
    "tasks": ("orchestrator tasks --env prod --service web", "orchestrator tasks --sandbox --all --output json"),
    "logs": (
        "orchestrator logs --env prod --service web --since 10m",
        "orchestrator logs --sandbox --follow --revision current",
    ),
    "scale": (
        "orchestrator scale --env prod --service web --count 3",
        "orchestrator scale --sandbox --count 1 --no-wait",
    ),
    "adopt": (
        "orchestrator adopt --env prod --cluster demo --ecs-service legacy",
        "orchestrator adopt --sandbox --cluster demo --ecs-service legacy --omit-env PW",
    ),
    "sandbox seed-history": ("orchestrator sandbox seed-history --group demo-web --count 500",),
    "infra plan": ("orchestrator infra plan --env dev --init",),
    "infra apply": ("orchestrator infra apply --env dev", "orchestrator infra apply --env dev --auto-approve"),
    "infra destroy": ("orchestrator infra destroy --env dev",),
    "infra output": ("orchestrator infra output --env dev", "orchestrator infra output --env dev --no-check"),
    "infra version": ("orchestrator infra version",),
}


def group_of(command: str, option: str) -> str:
    if command in UNGROUPED or command.split(" ")[0] in UNGROUPED:
        return OTHER
    return GROUPS.get(command, {}).get(option) or SHARED.get(option) or OTHER


def grouped(command: str, records: list[tuple[str, tuple[str, str]]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(group title, its help records): the command's own groups, the shared ones in ORDER, then "Other
    options" (--help among them); a command with one group prints it as "Options"."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for option, record in records:
        groups.setdefault(group_of(command, option), []).append(record)
    # The command's own groups first (in the order of their options), then the shared ones, then the rest.
    titles = sorted(groups, key=lambda t: (t == OTHER, t in ORDER, ORDER.index(t) if t in ORDER else 0))
    if len(titles) == 1:
        return [("Options", groups[titles[0]])]
    return [(title, groups[title]) for title in titles]
