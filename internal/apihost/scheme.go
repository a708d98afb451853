package apihost

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// NewScheme returns a scheme with the Kubernetes built-in types, CRDs and the types of
// every API in apis.
func NewScheme(apis ...API) (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	for _, a := range apis {
		if err := a.AddToScheme(s); err != nil {
			return nil, fmt.Errorf("register the %s API's types: %w", a.Name(), err)
		}
	}
	return s, nil
}
