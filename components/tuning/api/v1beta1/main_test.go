package v1beta1_test

import (
	"flag"
	"os"
	"sync"
	"testing"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/internal/testenv"
)

// env is the integration tier's API server; nil under -short, where only the unit tests
// (conformance_test.go) run.
var env *testenv.Env

// The package holds both tiers: under -short the unit tests run without an API server;
// otherwise testenv starts one with kfup's CRDs (this package's among them).
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(testenv.Main(m, &env))
}

var addTypes sync.Once

// needEnv skips t in the unit tier and makes the client know this package's types.
func needEnv(t *testing.T) *testenv.Env {
	t.Helper()
	if env == nil {
		t.Skip("needs a real API server: skipped under -short (the unit tier)")
	}
	addTypes.Do(func() {
		if err := tuningv1beta1.AddToScheme(env.Scheme); err != nil {
			t.Fatal(err)
		}
	})
	return env
}
