# Adopting the service the CodeDeploy root made, never recreating it (docs/migration.md): Terraform
# imports each adopt_existing service into module.ecs_native_service["<key>"].aws_ecs_service.this.
# An import of a resource already in this state is a no-op, so the block stays after the move.
# The CodeDeploy root forgets the same service with a `removed` block (lifecycle { destroy = false }),
# and a plan here that would replace it fails on the module's prevent_destroy.
import {
  for_each = { for k, s in var.services : k => s if s.adopt_existing }

  to = module.ecs_native_service[each.key].aws_ecs_service.this
  # aws_ecs_service's import ID: <cluster name>/<service name>.
  id = "${local.shared.cluster_name}/${local.base[each.key].service_name}"
}
