// Command gopeer is the benchmark's Go peer: a composition function on Crossplane's Go SDK that renders
// manifests from a Go text/template, the way function-go-templating does (template parsed on every call,
// executed against the request as a map, YAML documents decoded, each named by its
// gotemplating.fn.crossplane.io/composition-resource-name annotation). The benchmark feeds it a template that
// renders the same resources as function-streambus, so both are measured on equal output.
//
// function-go-templating itself cannot be installed here: the Go module proxy answers 403 for its v0.11.0,
// v0.10.0, v0.9.2 (zip), v0.9.0 and v0.8.0.
package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"text/template"

	"github.com/crossplane/function-sdk-go"
	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"
	"google.golang.org/protobuf/encoding/protojson"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
	"encoding/json"
)

const nameAnnotation = "gotemplating.fn.crossplane.io/composition-resource-name"

// Input carries the inline template.
type Input struct {
	Template string `json:"template"`
}

// Function renders the template.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer
	log logging.Logger
}

// RunFunction runs the function.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)

	in := &Input{}
	if err := unmarshalInput(req, in); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get input"))
		return rsp, nil
	}
	tmpl, err := template.New("manifests").Parse(in.Template)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot parse template"))
		return rsp, nil
	}
	data, err := requestAsMap(req)
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot execute template"))
		return rsp, nil
	}
	desired, err := request.GetDesiredComposedResources(req)
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(buf.String()), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err == io.EOF {
				break
			}
			response.Fatal(rsp, errors.Wrap(err, "cannot decode manifests"))
			return rsp, nil
		}
		if u.Object == nil {
			continue
		}
		name := u.GetAnnotations()[nameAnnotation]
		ann := u.GetAnnotations()
		delete(ann, nameAnnotation)
		if len(ann) == 0 {
			ann = nil
		}
		u.SetAnnotations(ann)
		desired[resource.Name(name)] = &resource.DesiredComposed{Resource: &composed.Unstructured{Unstructured: *u}, Ready: resource.ReadyFalse}
	}
	if err := response.SetDesiredComposedResources(rsp, desired); err != nil {
		response.Fatal(rsp, err)
	}
	return rsp, nil
}

func unmarshalInput(req *fnv1.RunFunctionRequest, in *Input) error {
	b, err := protojson.Marshal(req.GetInput())
	if err != nil {
		return err
	}
	return json.Unmarshal(b, in)
}

// requestAsMap converts the request to plain maps, as function-go-templating does.
func requestAsMap(req *fnv1.RunFunctionRequest) (map[string]any, error) {
	b, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, yaml.Unmarshal(b, &out)
}

func main() {
	address := flag.String("address", "127.0.0.1:9444", "listen address")
	flag.Parse()
	log, err := function.NewLogger(false)
	if err != nil {
		panic(err)
	}
	if err := function.Serve(&Function{log: log}, function.Listen("tcp", *address), function.Insecure(true)); err != nil {
		panic(err)
	}
}
