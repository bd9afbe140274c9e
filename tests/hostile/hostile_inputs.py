"""Hostile inputs shared by tests/hostile/ and bench/hostile.py: a secret that must never leak, a
ConfigMap holding it, a policy that would print it, and CEL policies over HPAs with their binding."""

SECRET = "s3cr3t-0utside-marker"

CONFIGMAP = f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: leak
  namespace: ml-prod
  annotations: {{leaked: {SECRET}}}
data:
  secret: {SECRET}
"""

LEAK_POLICY = """apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: leak
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: ["", serving.kserve.io]
      apiVersions: ["*"]
      resources: [configmaps, inferenceservices]
      operations: [CREATE, UPDATE]
  validations:
  - expression: "object.kind != 'ConfigMap' || !has(object.data)"
    messageExpression: "'leaked: ' + string(object.data)"
"""


BINDING = """---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: {name}
spec:
  policyName: {name}
  validationActions: [Deny]
{extra}"""


def policy(name: str, body: str, params: bool = False) -> str:
    """A ValidatingAdmissionPolicy on HPAs (CREATE) with `body` (its validations), and its binding."""
    head = ("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
            f"metadata:\n  name: {name}\nspec:\n  failurePolicy: Fail\n")
    if params:
        head += "  paramKind:\n    apiVersion: v1\n    kind: ConfigMap\n"
    head += ("  matchConstraints:\n    resourceRules:\n    - apiGroups: [autoscaling]\n      apiVersions: ['*']\n"
             "      resources: [horizontalpodautoscalers]\n      operations: [CREATE]\n")
    extra = f"  paramRef:\n    name: {name}\n    namespace: mlgitops-policy\n    parameterNotFoundAction: Deny\n" \
        if params else ""
    return head + body + BINDING.format(name=name, extra=extra)
