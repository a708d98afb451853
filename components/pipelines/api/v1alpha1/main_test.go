package v1alpha1_test

import (
	"flag"
	"os"
	"sync"
	"testing"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/internal/testenv"
)

// env is the integration tier's API server; nil under -short.
var env *testenv.Env

// The package holds the schema tests of both pipelines groups: testenv starts an API
// server with kfup's CRDs (these among them).
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(testenv.Main(m, &env))
}

var addTypes sync.Once

// needEnv skips t in the unit tier and makes the client know the pipelines types.
func needEnv(t *testing.T) *testenv.Env {
	t.Helper()
	if env == nil {
		t.Skip("needs a real API server: skipped under -short (the unit tier)")
	}
	addTypes.Do(func() {
		if err := pipelinesv1alpha1.AddToScheme(env.Scheme); err != nil {
			t.Fatal(err)
		}
		if err := pipelinesv2beta1.AddToScheme(env.Scheme); err != nil {
			t.Fatal(err)
		}
	})
	return env
}
