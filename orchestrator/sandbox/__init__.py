"""The embedded AWS sandbox: moto in server mode plus our CodeDeploy ECS blue/green engine.

Modules (see each one's docstring):
- state:     where the background sandbox keeps its files (.sandbox/) and how to find it.
- launcher:  moto's ThreadedMotoServer with the engine installed (`SandboxServer`).
- clock:     the lock and the time scale every module shares.
- engine:    the CodeDeploy ECS blue/green engine driven by wall-clock time: the ticker and its runs
             (engine_run: one deployment's lifecycle; engine_effects: what it does to ECS and ELB;
             engine_install: replacements that never become healthy; engine_timing: step durations;
             engine_ecs: ECS/ELB/AppSpec helpers; deployment_configs: built-in and custom configs).
- moto_ext:  only the patching of moto's classes; it hands the engine to the modules below.
- codedeploy_backend: CodeDeploy state and rules (configs, ids, rollbacks, revisions, stop/continue).
- codedeploy_responses: CodeDeploy requests parsed and answers serialised (AWS's shapes).
- ecs_backend: ECS rules (a CODE_DEPLOY service's first task set, what UpdateService refuses).
- hooks_api: PutLifecycleEventHookExecutionStatus (hooks: the Lambda hooks; alarms: CloudWatch).
- tasks:     one-off tasks: RunTask/StopTask for awsvpc tasks, their lifecycle and logs, task faults.
- service_tasks: services' tasks (started and stopped by the engine and UpdateService), their logs and
             target health.
- faults:    fault injection and request accounting, behind the control endpoint (middleware);
             consistency: the list_lag fault (reads that lag behind writes).
- history:   a deployment group's finished history, seeded at once (`sandbox seed-history`).
- control:   the HTTP client of the control endpoint (`SandboxControl`).
- provision: creates the example stack exactly as the Terraform root does; writes outputs.json
             (provision_network: VPC, security groups, load balancer; provision_unmanaged: a rolling
             service the stack did not create).
- process:   `sandbox up|down|status` background process management (pids: is a pid alive;
             registry: the local image registry).
"""
