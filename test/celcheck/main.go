// celcheck evaluates CEL validation rules with Kubernetes' own CEL environment (k8s.io/apiserver v0.34.1, the
// library kube-apiserver v1.34.1 uses for CRD x-kubernetes-validations: quantity(), isQuantity(), compareTo(),
// isInteger() and the rest), so test/unit/xrd-parity.test.ts does not judge the XRD's rules with the project's own
// quantity parser. It reads one JSON request per line, {"rule": "...", "self": <JSON>}, and answers one line each:
// {"result": <value>} or {"error": "..."}. A JSON number without a fraction is an int64 (as a structural schema's
// integer or int-or-string value is), with a fraction a double.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/cel/environment"
)

type request struct {
	Rule string          `json:"rule"`
	Self json.RawMessage `json:"self"`
}

type response struct {
	Result any    `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

func convert(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = convert(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = convert(e)
		}
		return x
	}
	return v
}

func evaluate(env *cel.Env, req request) response {
	ast, iss := env.Compile(req.Rule)
	if iss.Err() != nil {
		return response{Error: "compile: " + iss.Err().Error()}
	}
	prg, err := env.Program(ast)
	if err != nil {
		return response{Error: "program: " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(req.Self))
	dec.UseNumber()
	var self any
	if err := dec.Decode(&self); err != nil {
		return response{Error: "self: " + err.Error()}
	}
	out, _, err := prg.Eval(map[string]any{"self": convert(self)})
	if err != nil {
		return response{Error: "eval: " + err.Error()}
	}
	return response{Result: out.Value()}
}

func main() {
	base := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), true)
	set, err := base.Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions:        []cel.EnvOption{cel.Variable("self", cel.DynType)},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env, err := set.Env(environment.StoredExpressions)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			_ = enc.Encode(response{Error: "request: " + err.Error()})
			continue
		}
		_ = enc.Encode(evaluate(env, req))
	}
}
