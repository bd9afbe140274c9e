// Prints the function declarations of Kubernetes' CEL environment in policy/typecheck.py's format.
package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/apiserver/pkg/cel/library"
)

func format(t *types.Type) string {
	params := []string{}
	for _, p := range t.Parameters() {
		params = append(params, format(p))
	}
	switch t.Kind() {
	case types.TypeParamKind:
		return t.TypeName()
	case types.OpaqueKind:
		if t.TypeName() == "optional_type" {
			return "opt(" + params[0] + ")"
		}
		return "%" + t.TypeName()
	case types.StructKind:
		return "@" + t.TypeName()
	case types.ListKind, types.MapKind, types.TypeKind:
		name := map[types.Kind]string{types.ListKind: "list", types.MapKind: "map", types.TypeKind: "type"}[t.Kind()]
		if len(params) == 0 {
			return name
		}
		return name + "(" + strings.Join(params, ",") + ")"
	}
	return map[types.Kind]string{types.DynKind: "dyn", types.AnyKind: "any", types.BoolKind: "bool",
		types.BytesKind: "bytes", types.DoubleKind: "double", types.DurationKind: "duration", types.IntKind: "int",
		types.NullTypeKind: "null", types.StringKind: "string", types.TimestampKind: "timestamp",
		types.UintKind: "uint"}[t.Kind()]
}

func main() {
	set, err := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()).Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions:        []cel.EnvOption{cel.Variable("authorizer", library.AuthorizerType)},
	})
	if err != nil {
		panic(err)
	}
	env, err := set.Env(environment.StoredExpressions)
	if err != nil {
		panic(err)
	}
	fns := env.Functions()
	names := make([]string, 0, len(fns))
	for n := range fns {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, o := range fns[n].OverloadDecls() {
			style := "G"
			if o.IsMemberFunction() {
				style = "M"
			}
			parts := []string{n, style}
			for _, a := range o.ArgTypes() {
				parts = append(parts, format(a))
			}
			fmt.Println(strings.Join(append(parts, "->", format(o.ResultType())), " "))
		}
	}
}
