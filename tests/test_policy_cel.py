"""CEL engine: Kubernetes extension functions, errors, cost limits and activation reuse.

Expected values are the examples of https://kubernetes.io/docs/reference/using-api/cel/ and the
library docs of k8s.io/apiserver/pkg/cel/library (lists.go, regex.go, quantity.go, urls.go) and
cel-go ext/strings.go, cited per test.
"""

from __future__ import annotations

import datetime
import math

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
    ("isQuantity('Mi')", True),  # resource.ParseQuantity: a suffix alone is zero (kube-apiserver agrees)
    # quantity.go declares sign as a global function: sign(q), not q.sign() (the server refuses that)
    ("sign(quantity('50k'))", 1),
    ("sign(quantity('-50k'))", -1),
    ("sign(quantity('0'))", 0),
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
    for expression in ("quantity('50m').asInteger()", "quantity('1,3G')", "quantity('1e99999').asInteger()"):
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


# --- cel-go semantics where cel-cpp differs (docs/cel.md "Where cel-cpp and cel-go differ") -------
# Each case is one kube-apiserver v1.36.3 (cel-go) agrees with (tests/test_apiserver_cel.py);
# Go's strconv.ParseFloat/ParseInt/ParseUint/ParseBool, time.ParseDuration, time.Parse(RFC3339).

def conversion(function: str, text: str):
    """`function(object.v)` (a dyn argument) and `function('<text>')` (a string), which the engine
    rewrites differently; both must give the same."""
    values = {"object": {"v": text}}
    results = []
    for expression in (f"{function}(object.v)", f"{function}({strings_literal(text)})"):
        try:
            results.append(("value", run(expression, values)))
        except CelError as exc:
            results.append((exc.kind, exc.message))
    assert repr(results[0]) == repr(results[1]), results  # (repr: NaN equals no NaN)
    return results[0]


def strings_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t") + "'"


@pytest.mark.parametrize(("text", "expected"), [
    ("99.9", 99.9), ("99_9", 999.0), ("1_000.5", 1000.5), ("1e1_0", 1e10), ("0x1.8p1", 3.0), ("0X1P-2", 0.25),
    ("0x_1p0", 1.0), ("0x.8p1", 1.0), ("-0x1p4", -16.0), ("Inf", math.inf), ("+Inf", math.inf), ("-inf", -math.inf),
    ("infinity", math.inf), ("-INFINITY", -math.inf), ("1.", 1.0), (".5", 0.5), ("+.5e-3", 0.0005), ("5.e3", 5000.0),
    ("1e-400", 0.0), ("007", 7.0), ("1.7976931348623157e308", 1.7976931348623157e308),
])
def test_double_of_string_is_go_parsefloat(text, expected):
    assert conversion("double", text) == ("value", expected)


@pytest.mark.parametrize("text", [
    " 99.9", "99.9 ", "\t1", "0x63", "0x1.8", "0x1p", "", ".", "+", "1e", "e1", "1e+", "1__0", "_1", "1_", "1_.5",
    "1._5", "1e_10", "+_1", "+nan", "-NaN", "nan1", "infin", "infs", "1e400", "-1e400", "1.7976931348623159e308",
    "0x1p1024", "0b101", "0o17", "1,5", "1.2.3", "\uff11\uff12", "\u0661",
])
def test_double_of_string_refuses_what_go_refuses(text):
    assert conversion("double", text) == ("runtime", "type conversion error from 'string' to 'double'")


def test_double_of_nan_strings():
    for text in ("NaN", "nan", "nAn"):
        kind, value = conversion("double", text)
        assert kind == "value" and isinstance(value, float) and math.isnan(value)


@pytest.mark.parametrize(("function", "text", "expected"), [
    ("int", "+1", 1), ("int", "-0", 0), ("int", "007", 7), ("int", "-9223372036854775808", -2**63),
    ("int", "9223372036854775807", 2**63 - 1), ("int", "0" * 30 + "1", 1),
    ("uint", "0", 0), ("uint", "007", 7), ("uint", "18446744073709551615", 2**64 - 1),
    ("bool", "1", True), ("bool", "t", True), ("bool", "T", True), ("bool", "TRUE", True), ("bool", "True", True),
    ("bool", "0", False), ("bool", "f", False), ("bool", "F", False), ("bool", "FALSE", False),
])
def test_int_uint_bool_of_string_are_go_parsers(function, text, expected):
    assert conversion(function, text) == ("value", expected)


@pytest.mark.parametrize(("function", "text"), [
    ("int", " 1"), ("int", "1 "), ("int", "1_000"), ("int", "0x10"), ("int", "1.0"), ("int", "1e3"), ("int", ""),
    ("int", "+"), ("int", "--1"), ("int", "9223372036854775808"), ("int", "-9223372036854775809"), ("int", "\u0661"),
    ("int", "1" * 5000),
    ("uint", "+1"), ("uint", "-0"), ("uint", "-1"), ("uint", " 1"), ("uint", "18446744073709551616"), ("uint", "1_0"),
    ("bool", "tRue"), ("bool", "yes"), ("bool", ""), ("bool", " true"),
])
def test_int_uint_bool_refuse_what_go_refuses(function, text):
    assert conversion(function, text) == ("runtime", f"type conversion error from 'string' to '{function}'")


def test_conversions_of_other_types_are_unchanged():
    values = {"object": {"i": 5, "d": 5.7, "b": True}}
    assert run("double(object.i)", values) == 5.0
    assert run("int(object.d)", values) == 5
    assert run("uint(object.i)", values) == 5
    assert run("type(uint(object.i)) == uint && type(uint('7')) == uint", values) is True
    assert run("bool(object.b)", values) is True
    with pytest.raises(CelError) as caught:
        run("double(object.b)", values)
    assert caught.value.kind == "type"


@pytest.mark.parametrize(("text", "expected"), [
    ("1s", datetime.timedelta(seconds=1)), ("+5s", datetime.timedelta(seconds=5)), ("0", datetime.timedelta(0)),
    ("-1.5h", datetime.timedelta(hours=-1.5)), ("1h30m", datetime.timedelta(minutes=90)),
    ("1\u00b5s", datetime.timedelta(microseconds=1)), ("1\u03bcs", datetime.timedelta(microseconds=1)),
    ("1ns1s", datetime.timedelta(seconds=1)), ("1h1h", datetime.timedelta(hours=2)),
    ("2562047h", datetime.timedelta(hours=2562047)),
])
def test_duration_of_string_is_go_parseduration(text, expected):
    assert conversion("duration", text) == ("value", expected)


@pytest.mark.parametrize("text", ["1d", "1e3s", "inf", "1H", " 1s", "1s ", ".s", "3m-2s", "1", "", "2562048h",
                                  "9223372036854775808ns"])
def test_duration_refuses_what_go_refuses(text):
    assert conversion("duration", text) == ("runtime", "type conversion error from 'string' to 'google.protobuf.Duration'")


def test_duration_keeps_nanoseconds():
    assert run("string(duration('1.000000001s'))") == "1.000000001s"
    assert run("string(duration('-9223372036854775808ns'))") == "-9223372036.854775808s"
    assert run("duration(object.v) == duration('-2562047h47m16.854775808s')",
               {"object": {"v": "-9223372036854775808ns"}}) is True


UTC = datetime.timezone.utc


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-01-01T00:00:00Z", datetime.datetime(2024, 1, 1, tzinfo=UTC)),
    ("2024-01-01T1:00:00Z", datetime.datetime(2024, 1, 1, 1, tzinfo=UTC)),  # Go: a one-digit hour
    ("2024-01-01T00:00:00,5Z", datetime.datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
    ("2024-01-01T00:00:00+24:00", datetime.datetime(2023, 12, 31, tzinfo=UTC)),
    ("2024-02-29T12:00:00-01:30", datetime.datetime(2024, 2, 29, 13, 30, tzinfo=UTC)),
    ("0000-12-31T23:00:00-01:00", datetime.datetime(1, 1, 1, tzinfo=UTC)),
])
def test_timestamp_of_string_is_go_rfc3339(text, expected):
    assert conversion("timestamp", text) == ("value", expected)


@pytest.mark.parametrize(("text", "message"), [
    ("2024-01-01t00:00:00z", "type conversion error from 'string' to 'google.protobuf.Timestamp'"),
    ("2024-01-01T00:00:60Z", "type conversion error from 'string' to 'google.protobuf.Timestamp'"),
    ("2023-02-29T00:00:00Z", "type conversion error from 'string' to 'google.protobuf.Timestamp'"),
    ("2024-01-01T00:00:00+25:00", "type conversion error from 'string' to 'google.protobuf.Timestamp'"),
    ("2024-01-01 00:00:00Z", "type conversion error from 'string' to 'google.protobuf.Timestamp'"),
    ("2024-01-01T00:00:00", "type conversion error from 'string' to 'google.protobuf.Timestamp'"),
    ("0001-01-01T00:00:00+00:01", "timestamp overflow"),
    ("9999-12-31T23:59:59-00:01", "timestamp overflow"),
])
def test_timestamp_refuses_what_go_refuses(text, message):
    assert conversion("timestamp", text) == ("runtime", message)


@pytest.mark.parametrize(("expression", "expected"), [
    ("string(double('NaN'))", "NaN"), ("string(1.0 / 0.0)", "+Inf"), ("string(-1.0 / 0.0)", "-Inf"),
    ("string(object.inf)", "+Inf"), ("string(1.5)", "1.5"), ("string(1e6)", "1e+06"), ("string(object.n)", "3"),
])
def test_string_of_double_is_go_percent_g(expression, expected):
    assert run(expression, {"object": {"inf": math.inf, "n": 3}}) == expected


@pytest.mark.parametrize("expression", [
    "double('NaN') < 1.0", "double('NaN') <= 1.0", "double('NaN') > 1.0", "double('NaN') >= 1.0",
    "1.0 < double('NaN')", "dyn(1) < double('NaN')", "double('NaN') > dyn(1u)", "0.0 / 0.0 > 1.0",
    "object.inf - object.inf < 1.0", "object.l.all(x, double(x) > 0.0)", "[double('nan'), 1.0].sum() > 0.0",
    "dyn(double('NaN')) < dyn('a')",
])
def test_nan_cannot_be_ordered(expression):
    with pytest.raises(CelError) as caught:
        run(expression, {"object": {"inf": math.inf, "l": ["1", "nan"]}})
    assert (caught.value.kind, caught.value.message) == ("runtime", "NaN values cannot be ordered")


@pytest.mark.parametrize(("expression", "expected"), [
    # equality is no ordering: no error in cel-go either
    ("double('NaN') == double('NaN')", False), ("double('NaN') != double('NaN')", True),
    ("double('NaN') in [double('NaN')]", False), ("[double('NaN')] == [double('NaN')]", False),
    ("double('NaN') > 1.0 || true", True), ("double('1') < 2.0", True),
    # k8s lists.go: pairs that do not compare (a NaN) are skipped by min, max and isSorted
    ("[1.0, double('NaN'), 0.5].isSorted()", True), ("[2.0, 1.0].isSorted()", False),
    ("[1.0, double('NaN'), 0.5].min()", 0.5), ("[1.0, double('NaN')].max()", 1.0),
])
def test_nan_equality_and_lists(expression, expected):
    assert run(expression) == expected


def test_nan_min_max_keep_a_leading_nan():
    assert math.isnan(run("[double('NaN'), 1.0].min()")) and math.isnan(run("[double('NaN'), 5.0].max()"))


def test_nan_from_a_variable_evaluated_on_its_own():
    # evaluate.py evaluates a variable alone when the fused program fails; its NaN reaches a
    # comparison that has no NaN source of its own
    program = compile_expression("variables.a > 1", variables=frozenset({"a"}))
    assert program.evaluate(activation({"variables": {"a": 2}})) is True
    with pytest.raises(CelError) as caught:
        program.evaluate(activation({"variables": {"a": math.nan}}))
    assert caught.value.message == "NaN values cannot be ordered"


def test_ordering_other_than_nan_is_unchanged():
    with pytest.raises(CelError) as caught:
        run("dyn('a') < double('NaN')")  # String.Compare(Double): no such overload, as any string vs double
    assert caught.value.kind == "type"
    assert run("double('2') > dyn(1) && dyn(1u) < 1.5 && 'a' < 'b' && duration('1s') < duration('2s')") is True


def test_the_checked_tree_is_not_rewritten():
    # type checking, cost estimates and positions read the checked tree: the rewrite is for evaluation only
    program = compile_expression("double(object.v) > 1.0")
    assert program.tree.name == "_>_" and program.tree.children[0].name == "double"
    before = program.cost_at(100)
    assert program.evaluate(activation({"object": {"v": "1_5"}})) is True
    assert program.tree.children[0].name == "double" and program.cost_at(100) == before


def test_the_cost_checks_estimate_is_the_cost_at_the_assumed_input_size(monkeypatch):
    from mlgitops.policy import celcost

    program = compile_expression("object.spec.containers.all(c, c.name.size() < 63 && c.image != '')")
    expected = celcost.estimate(program.tree)[0].cost
    monkeypatch.setattr(celcost, "estimate", lambda *args, **kwargs: pytest.fail("estimated again"))
    assert program.cost_at(celcost.ASSUMED_INPUT_SIZE) == expected  # what compiling estimated already


@pytest.mark.parametrize(("text", "valid"), [
    # resource.ParseQuantity (kube-apiserver agrees): a suffix or sign alone is zero
    ("Gi", True), ("T", True), ("m", True), (".", True), ("+", True), ("e1", True), ("0e99999999", True),
    ("1.5Gi", True), ("1e3m", False), (".5Mi", True), ("1.Mi", True),
    ("e-10", False), (".Gi", True), ("12e", False), ("1e+", False), ("1m5", False), ("1Ki5", False), ("1.2.3", False),
    ("1EiB", False), ("", False), (" 1", False), ("1K", False),
])
def test_is_quantity_is_parse_quantity(text, valid):
    assert run(f"isQuantity('{text}')") is valid


@pytest.mark.parametrize(("expression", "expected"), [
    ("quantity('1.5n') == quantity('2n')", True),  # rounded up (away from zero) to 1n
    ("quantity('-1.5n') == quantity('-2n')", True),
    ("quantity('1e-10') == quantity('1n')", True),
    ("quantity('9Ei') == quantity('9223372036854775807')", True),  # binary quantities are capped
    ("quantity('1e3') == quantity('1k')", True),
])
def test_quantity_values_as_parse_quantity(expression, expected):
    assert run(expression) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("1.2.3", "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ("12e", "unable to parse quantity's suffix"),
    ("e-10", "unable to parse numeric part of quantity"),
])
def test_quantity_errors_are_parse_quantity_errors(text, message):
    with pytest.raises(CelError) as caught:
        run(f"quantity('{text}')")
    assert (caught.value.kind, caught.value.message) == ("runtime", message)


def _builtin_matches(text, pattern) -> str:
    """What cel-cpp's own matches() says, through a program the memo rewrite never touched."""
    from mlgitops.policy import cel

    native = cel._env().compile("object.t.matches(object.p)")
    value = native.eval(cel._env().Activation({"object": {"t": text, "p": pattern}}))
    return f"error: {value.plain_value()}" if value.type() == cel.cel.Type.ERROR else repr(value.plain_value())


def test_matches_answers_what_the_builtin_answers_remembered_or_not(monkeypatch):
    """matches() is rewritten to ask what the builtin said before for the same text and pattern
    (celext.matches_known) and else the builtin, remembering its answer: on random and edge-case
    pairs (invalid patterns, other types, Unicode, flags) the answer (or error) is the builtin's
    the first time and every later time, and an error is never remembered."""
    import random

    from mlgitops.policy import celext

    monkeypatch.setattr(celext, "_MATCHES", {})
    monkeypatch.setattr(celext, "_matches_chars", 0)
    rng = random.Random(18)
    atoms = ["a", "b", ".", "*", "+", "?", "(", ")", "[", "]", "^", "$", "|", "\\d", "\\w", "{2}", "(?i)", "é", "\\", "x"]
    patterns = ["".join(rng.choice(atoms) for _ in range(rng.randint(0, 6))) for _ in range(150)]
    patterns += ["(?i)(^|_)(PASSWORD|TOKEN)($|_)", "^--?[a-z]*=.+", "\\pL+", "(", "[z-a]", "a{1001}"]
    texts = ["", "a", "ab", "AB", "DB_PASSWORD", "--token=x", "é", "abc123", "x" * 50, "b.a"]
    program = compile_expression("object.t.matches(object.p)")
    global_form = compile_expression("matches(object.t, object.p)")
    compared = errors = remembered = 0
    for pattern in patterns:
        for text in texts + [1, None]:
            expected = _builtin_matches(text, pattern)
            for form in (program, global_form, program):
                try:
                    got = repr(form.evaluate(activation({"object": {"t": text, "p": pattern}})))
                except CelError as exc:
                    got = "error"
                    assert expected.startswith("error: "), (text, pattern, expected, str(exc))
                    assert (pattern, text) not in celext._MATCHES
                    errors += 1
                else:
                    assert got == expected, (text, pattern)
                compared += 1
            remembered += (pattern, text) in celext._MATCHES
    assert compared > 5000 and errors > 1000 and remembered > 500, (compared, errors, remembered)


def test_matches_errors_read_as_before_the_memo():
    with pytest.raises(CelError, match="invalid regular expression"):
        run("'abc'.matches(object.metadata.name + '(')")
    with pytest.raises(CelError, match="no matching overload"):
        run("dyn(object.spec.replicas).matches('x')")
    with pytest.raises(CelError, match="no such key"):
        run("object.missing.matches('x')")
