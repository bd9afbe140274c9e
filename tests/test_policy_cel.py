"""CEL engine: Kubernetes extension functions, errors, cost limits and activation reuse.

Expected values are the examples of https://kubernetes.io/docs/reference/using-api/cel/ and the
library docs of k8s.io/apiserver/pkg/cel/library (lists.go, regex.go, quantity.go, urls.go) and
cel-go ext/strings.go, cited per test.
"""

from __future__ import annotations

import pytest

from mlgitops.policy.cel import PER_CALL_LIMIT, CelError, activation, compile_expression

OBJECT = {
    "metadata": {"name": "iris", "labels": {"team": "ml"}},
    "spec": {"replicas": 2, "containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:latest"}]},
}


def run(expression: str, values: dict | None = None, variables: frozenset[str] = frozenset()):
    return compile_expression(expression, variables=variables).evaluate(activation(values or {"object": OBJECT}))


@pytest.mark.parametrize(("expression", "expected"), [
    # cel-go ext.Strings documentation examples
    ("'hello'.charAt(1)", "e"),
    ("'hello mellow'.indexOf('ello')", 1),
    ("'hello mellow'.indexOf('ello', 2)", 7),
    ("'hello mellow'.lastIndexOf('ello')", 7),
    ("'TacoCat'.lowerAscii()", "tacocat"),
    ("'TacoCat'.upperAscii()", "TACOCAT"),
    ("'hello hello'.replace('he', 'we')", "wello wello"),
    ("'hello hello'.replace('he', 'we', 1)", "wello hello"),
    ("'a,b'.split(',')", ["a", "b"]),
    ("'hello hello hello'.split(' ', 2)", ["hello", "hello hello"]),
    ("'tacocat'.substring(4)", "cat"),
    ("'tacocat'.substring(0, 4)", "taco"),
    ("'  \\ttrim\\n    '.trim()", "trim"),
    ("['hello', 'mellow'].join(' ')", "hello mellow"),
    ("'%s has %d replicas'.format(['iris', 2])", "iris has 2 replicas"),
    ("strings.quote('single-quote with \"double quote\"')", '"single-quote with \\"double quote\\""'),
])
def test_strings_extension(expression, expected):
    assert run(expression) == expected


@pytest.mark.parametrize(("expression", "expected"), [
    # k8s library/lists.go examples
    ("[1, 2, 3].isSorted()", True),
    ("['a', 'b', 'b', 'c'].isSorted()", True),
    ("[2.0, 1.0].isSorted()", False),
    ("[].isSorted()", True),
    ("[1, 2, 3].sum()", 6),
    ("[1.0, 3.0].sum()", 4.0),
    ("[].sum()", 0),
    ("[1, 3].min()", 1),
    ("[1, 3].max()", 3),
    ("[1, 2, 2, 3].indexOf(2)", 1),
    ("['a', 'b', 'b', 'c'].lastIndexOf('b')", 2),
    ("[1.0].indexOf(1.1)", -1),
    ("object.spec.containers.map(c, c.name).indexOf('b')", 1),
    # cel-go ext.Sets examples
    ("sets.contains([1, 2, 3, 4], [2, 3])", True),
    ("sets.equivalent([1, 2, 3], [3, 2, 1, 1])", True),
    ("sets.intersects([1], [])", False),
])
def test_lists_and_sets(expression, expected):
    assert run(expression) == expected


def test_empty_min_is_an_error():
    # lists.go: "[].min() // error"
    with pytest.raises(CelError) as caught:
        run("[].min()")
    assert caught.value.kind == "runtime" and "empty list" in caught.value.message


@pytest.mark.parametrize(("expression", "expected"), [
    ("'abc'.matches('^a')", True),
    ("'abc'.matches('^b')", False),
    # k8s library/regex.go examples
    ("'abc 123'.find('[0-9]+')", "123"),
    ("'abc'.find('[0-9]+')", ""),
    ("'123 abc 456'.findAll('[0-9]+')", ["123", "456"]),
    ("'123 abc 456'.findAll('[0-9]+', 1)", ["123"]),
    ("'123 abc 456'.findAll('xyz')", []),
])
def test_regex(expression, expected):
    assert run(expression) == expected


def test_regex_is_re2_without_backtracking():
    # a backtracking engine would take exponential time here; RE2 (as in Go) is linear
    assert run("'" + "a" * 40 + "!'.find('(a+)+$')") == ""


@pytest.mark.parametrize(("expression", "expected"), [
    # k8s library/quantity.go examples
    ("quantity('1Gi').isGreaterThan(quantity('512Mi'))", True),
    ("quantity('500m').isLessThan(quantity('1'))", True),
    ("quantity('1e3') == quantity('1k')", True),
    ("quantity('1Gi') == quantity('1024Mi')", True),
    ("isQuantity('1.3G')", True),
    ("isQuantity('1.3Gi')", True),
    ("isQuantity('1,3G')", False),
    ("isQuantity('10000k')", True),
    ("isQuantity('200K')", False),
    ("isQuantity('Three')", False),
    ("isQuantity('Mi')", False),
    ("quantity('50k').sign()", 1),
    ("quantity('-50k').sign()", -1),
    ("quantity('0').sign()", 0),
    ("quantity('50k').isInteger()", True),
    ("quantity('50m').isInteger()", False),
    ("quantity('50k').asInteger()", 50000),
    ("quantity('50k').asApproximateFloat()", 50000.0),
    ("quantity('50m').asApproximateFloat()", 0.05),
    ("quantity('50k').compareTo(quantity('50000'))", 0),
    ("quantity('50k').compareTo(quantity('50M'))", -1),
    ("quantity('50M').compareTo(quantity('50k'))", 1),
    ("quantity('50k').add(quantity('20k')) == quantity('70k')", True),
    ("quantity('50k').add(20).asInteger()", 50020),
    ("quantity('50k').sub(quantity('20k')) == quantity('30k')", True),
    ("quantity('50k').sub(20) == quantity('49980')", True),
])
def test_quantity(expression, expected):
    assert run(expression) == expected


def test_quantity_errors():
    # quantity.go: asInteger errors when the value is not an integer; quantity() on bad input errors
    for expression in ("quantity('50m').asInteger()", "quantity('1,3G')", "quantity('1e99999').sign()"):
        with pytest.raises(CelError) as caught:
            run(expression)
        assert caught.value.kind == "runtime"


@pytest.mark.parametrize(("expression", "expected"), [
    # k8s library/urls.go examples
    ("url('https://example.com:80/a?b=c').getPort()", "80"),
    ("url('https://example.com/').getPort()", ""),
    ("url('https://example.com/path').getScheme()", "https"),
    ("url('https://example.com:80/').getHost()", "example.com:80"),
    ("url('https://[::1]:80/').getHost()", "[::1]:80"),
    ("url('https://example.com:80/').getHostname()", "example.com"),
    ("url('https://[::1]:80/').getHostname()", "::1"),
    ("url('https://example.com/path with spaces/').getEscapedPath()", "/path%20with%20spaces/"),
    ("url('https://example.com').getEscapedPath()", ""),
    ("url('https://example.com/path?k1=a&k2=b&k2=c').getQuery()", {"k1": ["a"], "k2": ["b", "c"]}),
    ("url('https://example.com/path').getQuery()", {}),
    ("isURL('https://example.com:80/path?query=val#fragment')", True),
    ("isURL('/absolute-path')", True),
    ("isURL('relative-path')", False),
    ("isURL('https://example.com:port/')", False),
])
def test_url(expression, expected):
    assert run(expression) == expected


def test_bindings_optionals_and_has():
    assert run("cel.bind(c, object.spec.containers, c.size() == 2)") is True
    assert run("object.?spec.?missing.orValue('none')") == "none"
    assert run("has(object.metadata.labels) && !has(object.metadata.annotations)") is True


def test_variables_and_inputs():
    values = {"object": OBJECT, "oldObject": None, "params": {"max": 3}, "variables": {"images": ["x:1"]}}
    program = compile_expression("object.spec.replicas <= params.max && variables.images.size() == 1",
                                 variables=frozenset({"images"}))
    assert program.evaluate(activation(values)) is True
    assert run("oldObject == null", values) is True


def test_undefined_variable_is_a_type_error_with_offset():
    with pytest.raises(CelError) as caught:
        compile_expression("true && variables.nope", variables=frozenset({"images"}))
    assert caught.value.kind == "type" and caught.value.offset == 8
    assert "variables.nope" in caught.value.message


@pytest.mark.parametrize(("expression", "offset"), [
    ("object.spec.replicas >", 22),
    ("object.spec.replicas > 1 &&\n  )", 30),
    ("[1, 2", 5),
])
def test_syntax_error_has_offset(expression, offset):
    with pytest.raises(CelError) as caught:
        compile_expression(expression)
    error = caught.value
    assert (error.kind, error.offset) == ("syntax", offset)
    assert "\n" not in error.message and error.message.startswith("syntax error")


def test_unknown_function_is_a_type_error():
    with pytest.raises(CelError) as caught:
        compile_expression("object.spec.replicas.frobnicate()")
    assert caught.value.kind == "type" and "frobnicate" in caught.value.message


@pytest.mark.parametrize("expression", [
    "authorizer.group('apps').resource('deployments').check('create').allowed()",
    "ip('10.0.0.1').family() == 4",
    "isCIDR('10.0.0.0/8')",
    "[2, 1].sort() == [1, 2]",
])
def test_unsupported_kubernetes_features(expression):
    with pytest.raises(CelError) as caught:
        compile_expression(expression)
    assert caught.value.kind == "unsupported" and "docs/cel.md" in caught.value.message


@pytest.mark.parametrize(("expression", "kind", "fragment"), [
    ("object.spec.replicas + 'x'", "type", "no matching overload for '+' applied to (int, string)"),
    ("object.spec.nope == 1", "runtime", "no such key: nope"),
    ("object.spec.containers[5].name", "runtime", "index"),
    ("object.spec.replicas / 0 == 1", "runtime", "divide by zero"),
    ("params.max > 1", "runtime", "variable 'params' is not available"),
])
def test_evaluation_errors(expression, kind, fragment):
    with pytest.raises(CelError) as caught:
        run(expression)
    assert caught.value.kind == kind and fragment in caught.value.message
    assert "\n" not in caught.value.message and "Traceback" not in caught.value.message


TEN = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"


def test_nested_comprehensions_exceed_static_estimate():
    expression = TEN
    for var in "abcdef":
        expression = f"{TEN}.map({var}, {expression})"
    with pytest.raises(CelError) as caught:
        compile_expression(expression)
    assert caught.value.kind == "cost" and str(PER_CALL_LIMIT) in caught.value.message


def doubling(levels: int) -> str:
    expression = "v0 + v0"
    for i in range(1, levels):
        expression = f"cel.bind(v{i - 1}, v{i} + v{i}, {expression})"
    return f"cel.bind(v{levels - 1}, 'xxxxxxxxxx', {expression})"


def test_string_doubling_exceeds_static_estimate():
    assert len(run(doubling(8))) == 10 * 2**8
    with pytest.raises(CelError) as caught:
        compile_expression(doubling(25))
    assert caught.value.kind == "cost"


def test_parser_nesting_limit():
    with pytest.raises(CelError) as caught:
        compile_expression(doubling(40))
    assert caught.value.kind == "syntax" and "recursion limit" in caught.value.message


def test_list_doubling_exceeds_static_size_estimate():
    expression = "[v0, v0]"
    for i in range(1, 30):
        expression = f"cel.bind(v{i - 1}, [v{i}, v{i}], {expression})"
    expression = f"cel.bind(v29, [1], {expression})"
    with pytest.raises(CelError) as caught:
        compile_expression(expression)
    assert caught.value.kind == "cost" and "size" in caught.value.message


def test_runtime_iteration_limit_stops_large_inputs():
    # statically fine (input sizes unknown), but 300 x 300 iterations exceed the runtime guard
    program = compile_expression("object.all(x, object.all(y, x + y >= 0))")
    assert program.evaluate(activation({"object": list(range(50))})) is True
    with pytest.raises(CelError) as caught:
        program.evaluate(activation({"object": list(range(300))}))
    assert caught.value.kind == "cost" and "iterations" in caught.value.message


def test_realistic_policy_expressions_pass_the_estimate():
    for expression in (
        "object.spec.containers.all(c, !c.image.endsWith(':latest') && c.image.contains(':'))",
        "!has(object.spec.template) || object.spec.template.spec.containers.all(c, has(c.resources.limits))",
        "object.spec.containers.all(c, !has(c.env) || c.env.all(e, !has(e.value) || !e.value.matches('(?i)password')))",
    ):
        compile_expression(expression)


def test_activation_reuse_matches_fresh_activations():
    expressions = [
        "object.spec.containers.filter(c, c.image.endsWith(':latest')).map(c, c.name)",
        "object.metadata.labels.team",
        "object.spec.replicas * 2",
        "object.spec.containers.all(c, c.image.contains(':'))",
    ]
    shared = activation({"object": OBJECT})
    programs = [compile_expression(e) for e in expressions]
    reused = [p.evaluate(shared) for p in programs for _ in range(2)]
    fresh = [p.evaluate(activation({"object": OBJECT})) for p in programs for _ in range(2)]
    assert reused == fresh == [["b"], ["b"], "ml", "ml", 4, 4, True, True]


def test_variable_names_are_checked_on_the_syntax_tree():
    # a string that merely mentions variables.x is not a reference; an index with a literal key is
    assert run("'variables.nope'.size() > 0", variables=frozenset()) is True
    with pytest.raises(CelError) as caught:
        compile_expression("variables['nope'] == 1", variables=frozenset({"images"}))
    assert caught.value.kind == "type" and caught.value.offset == 0
