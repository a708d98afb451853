package incluster

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/errs"
)

// fakeAPI is an API slice with one flag of its own, --fake-workers (at least 1).
type fakeAPI struct {
	workers int
	name    string
}

func (f *fakeAPI) Name() string {
	if f.name == "" {
		return "fake"
	}
	return f.name
}
func (f *fakeAPI) AddToScheme(*runtime.Scheme) error { return nil }
func (f *fakeAPI) AddFlags(fl *pflag.FlagSet) {
	fl.IntVar(&f.workers, f.Name()+"-workers", 2, "workers")
}
func (f *fakeAPI) Validate() error {
	if f.workers < 1 {
		return errs.Usage("pass --"+f.Name()+"-workers 1 or more", "--%s-workers must be at least 1", f.Name())
	}
	return nil
}
func (f *fakeAPI) Namespaces() []string     { return nil }
func (f *fakeAPI) Objects() []client.Object { return nil }
func (f *fakeAPI) Controllers(apihost.Process) ([]apihost.Controller, error) {
	return nil, nil
}

// execute runs the kfup-manager command tree hosting a fake API, with the manager's run
// replaced by runF.
func execute(runF func(context.Context, *ManagerOptions) error, args ...string) (*fakeAPI, error) {
	api := &fakeAPI{}
	return api, executeWith([]apihost.API{api}, runF, args...)
}

// executeWith runs the kfup-manager command tree hosting apis.
func executeWith(apis []apihost.API, runF func(context.Context, *ManagerOptions) error, args ...string) error {
	root := NewRootCmd(&bytes.Buffer{}, &bytes.Buffer{}, nil)
	for _, c := range root.Commands() {
		if c.Name() == "manager" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(NewCmdManager(apis, func() int { return 0 }, runF))
	root.SetArgs(args)
	return root.ExecuteContext(context.Background())
}

// --apis picks the slices the manager runs: the others' CRDs need not be installed, so
// they must not start (nor have their flags checked).
func TestManagerHostsOnlyTheNamedAPIs(t *testing.T) {
	var got *ManagerOptions
	capture := func(_ context.Context, o *ManagerOptions) error { got = o; return nil }
	a, b := &fakeAPI{name: "a"}, &fakeAPI{name: "b"}
	names := func() []string { return apihost.Names(got.APIs) }
	if err := executeWith([]apihost.API{a, b}, capture, "manager"); err != nil || !slices.Equal(names(), []string{"a", "b"}) {
		t.Fatalf("default: %v %v", names(), err)
	}
	if err := executeWith([]apihost.API{a, b}, capture, "manager", "--apis=b,a"); err != nil || !slices.Equal(names(), []string{"a", "b"}) {
		t.Fatalf("both, in the slices' order: %v %v", names(), err)
	}
	// a's flag is invalid, but a is not hosted: not checked
	if err := executeWith([]apihost.API{a, b}, capture, "manager", "--apis=b", "--a-workers=0"); err != nil || !slices.Equal(names(), []string{"b"}) {
		t.Fatalf("only b: %v %v", names(), err)
	}
	if err := executeWith([]apihost.API{a, b}, capture, "manager", "--apis=a,b", "--a-workers=0"); errs.KindOf(err) != errs.KindUsage {
		t.Fatalf("hosted a with a bad flag: %v", err)
	}
	if err := executeWith([]apihost.API{a, b}, capture, "manager", "--apis="); err != nil || len(got.APIs) != 0 {
		t.Fatalf("none: %v %v", names(), err)
	}
	for _, bad := range []string{"--apis=c", "--apis=a,a", "--apis=a,,b"} {
		got = nil
		err := executeWith([]apihost.API{&fakeAPI{name: "a"}, &fakeAPI{name: "b"}}, capture, "manager", bad)
		if errs.KindOf(err) != errs.KindUsage || got != nil {
			t.Errorf("%s: want a usage error before running, got %v", bad, err)
		}
	}
}

func TestManagerOptions(t *testing.T) {
	t.Setenv(ImageEnv, "kfup/manager:abc")
	var got *ManagerOptions
	capture := func(_ context.Context, o *ManagerOptions) error { got = o; return nil }
	api, err := execute(capture, "manager", "--leader-elect=false", "--pprof-bind-address", "127.0.0.1:6060",
		"--memory-limit-ratio", "0.75", "--fake-workers", "8")
	if err != nil {
		t.Fatal(err)
	}
	if got.LeaderElect || got.PprofAddr != "127.0.0.1:6060" || got.MemoryLimitRatio != 0.75 || got.Image != "kfup/manager:abc" ||
		len(got.APIs) != 1 || got.APIs[0] != api || api.workers != 8 {
		t.Fatalf("options: %+v, API %+v", got, api)
	}
	if api, err := execute(capture, "manager"); err != nil || !got.LeaderElect || got.MetricsAddr != ":8080" || got.PprofAddr != "0" ||
		got.MemoryLimitRatio != DefaultMemoryLimitRatio || api.workers != 2 {
		t.Fatalf("defaults: %+v %+v %v", got, api, err)
	}
}

func TestManagerRejectsBadOptions(t *testing.T) {
	for _, args := range [][]string{{"manager", "--fake-workers", "0"}, {"manager", "extra"},
		{"manager", "--memory-limit-ratio", "1.5"}, {"manager", "--memory-limit-ratio", "-0.1"}, {"manager", "--memory-limit-ratio", "NaN"}} {
		ran := false
		_, err := execute(func(context.Context, *ManagerOptions) error { ran = true; return nil }, args...)
		if errs.KindOf(err) != errs.KindUsage || ran {
			t.Errorf("%v: want a usage error before running, got %v", args, err)
		}
	}
}

func TestMainExitCodes(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"nonsense"}, &out, &errOut, []apihost.API{&fakeAPI{}}); code != 2 {
		t.Errorf("unknown command: exit %d, want 2 (%s)", code, errOut.String())
	}
	if code := Main(context.Background(), []string{"manager", "--fake-workers", "many"}, &out, &errOut, []apihost.API{&fakeAPI{}}); code != 2 {
		t.Errorf("bad flag value: exit %d, want 2 (%s)", code, errOut.String())
	}
	errOut.Reset()
	if code := Main(context.Background(), []string{"agent", "wait-for-host"}, &out, &errOut, nil); code != 2 || !bytes.Contains(errOut.Bytes(), []byte("hint:")) {
		t.Errorf("wait-for-host without a host: exit %d, want 2 with a hint (%s)", code, errOut.String())
	}
	if code := Main(context.Background(), []string{"--help"}, &out, &errOut, nil); code != 0 || !bytes.Contains(out.Bytes(), []byte("manager")) {
		t.Errorf("--help: exit %d\n%s", code, out.String())
	}
}
