package bootstrap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kfup/kfup/internal/errs"
)

// ignoreOrigin drops what clientcmd fills in on load, so configs compare by content.
var ignoreOrigin = cmp.Options{
	cmpopts.IgnoreFields(clientcmdapi.Cluster{}, "LocationOfOrigin"),
	cmpopts.IgnoreFields(clientcmdapi.AuthInfo{}, "LocationOfOrigin"),
	cmpopts.IgnoreFields(clientcmdapi.Context{}, "LocationOfOrigin"),
	cmpopts.IgnoreFields(clientcmdapi.Config{}, "Preferences", "Extensions"),
	cmpopts.EquateEmpty(),
}

// entry is one context with its own cluster and user, all named name.
type entry struct {
	name, server, token, namespace string
}

// kubeconfig returns a config holding entries; current is its current-context.
func kubeconfig(current string, entries ...entry) *clientcmdapi.Config {
	c := clientcmdapi.NewConfig()
	for _, e := range entries {
		c.Clusters[e.name] = &clientcmdapi.Cluster{Server: e.server}
		c.AuthInfos[e.name] = &clientcmdapi.AuthInfo{Token: e.token}
		c.Contexts[e.name] = &clientcmdapi.Context{Cluster: e.name, AuthInfo: e.name, Namespace: e.namespace}
	}
	c.CurrentContext = current
	return c
}

func writeKubeconfig(t *testing.T, path string, c *clientcmdapi.Config) {
	t.Helper()
	b, err := clientcmd.Write(*c)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readKubeconfig(t *testing.T, path string) *clientcmdapi.Config {
	t.Helper()
	c, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return c
}

// kindKubeconfig is what kind returns for a cluster: context, cluster and user all named
// kind-<name>.
func kindKubeconfig(t *testing.T, name, server string) []byte {
	t.Helper()
	b, err := clientcmd.Write(*kubeconfig("kind-"+name, entry{name: "kind-" + name, server: server, token: "kind-token"}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// isolate points HOME and KUBECONFIG into a temp dir, so no test reads or writes the
// developer's ~/.kube/config.
func isolate(t *testing.T, kubeconfigEnv string) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv(clientcmd.RecommendedConfigPathEnvVar, kubeconfigEnv)
}

var (
	prod    = entry{name: "prod", server: "https://prod.example:6443", token: "prod-token", namespace: "team"}
	staging = entry{name: "staging", server: "https://staging.example:6443", token: "staging-token"}
	kfupDev = entry{name: "kfup-dev", server: "https://127.0.0.1:40000", token: "kind-token"}
)

func TestMergeContext(t *testing.T) {
	tests := []struct {
		name       string
		initial    *clientcmdapi.Config // nil: the file does not exist
		setCurrent bool
		want       *clientcmdapi.Config
	}{
		{
			name:       "into an existing kubeconfig, made current",
			initial:    kubeconfig("prod", prod, staging),
			setCurrent: true,
			want:       kubeconfig("kfup-dev", prod, staging, kfupDev),
		},
		{
			name:       "current context left alone without setCurrent",
			initial:    kubeconfig("prod", prod, staging),
			setCurrent: false,
			want:       kubeconfig("prod", prod, staging, kfupDev),
		},
		{
			name:       "replaces a stale kfup-dev entry, others untouched",
			initial:    kubeconfig("staging", prod, staging, entry{name: "kfup-dev", server: "https://127.0.0.1:1", token: "old"}),
			setCurrent: true,
			want:       kubeconfig("kfup-dev", prod, staging, kfupDev),
		},
		{
			name:       "creates a missing kubeconfig file",
			setCurrent: true,
			want:       kubeconfig("kfup-dev", kfupDev),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "config")
			if tt.initial != nil {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				writeKubeconfig(t, path, tt.initial)
			}
			isolate(t, path)
			file, err := MergeContext(kindKubeconfig(t, "dev", kfupDev.server), ContextName("dev"), "", tt.setCurrent)
			if err != nil {
				t.Fatalf("MergeContext: %v", err)
			}
			if file != path {
				t.Errorf("MergeContext wrote %q, want %q", file, path)
			}
			if diff := cmp.Diff(tt.want, readKubeconfig(t, path), ignoreOrigin); diff != "" {
				t.Errorf("kubeconfig after MergeContext (-want +got):\n%s", diff)
			}
			if ok, err := HasContext("kfup-dev", ""); err != nil || !ok {
				t.Errorf("HasContext(kfup-dev) = %v, %v; want true", ok, err)
			}
			cur, err := CurrentContext("")
			if err != nil {
				t.Fatalf("CurrentContext: %v", err)
			}
			if cur != tt.want.CurrentContext {
				t.Errorf("CurrentContext = %q, want %q", cur, tt.want.CurrentContext)
			}
		})
	}
}

func TestMergeContextKeepsNamespace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	isolate(t, path)
	src := kubeconfig("kind-dev", entry{name: "kind-dev", server: "https://127.0.0.1:1", token: "t", namespace: "ml"})
	b, err := clientcmd.Write(*src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MergeContext(b, "kfup-dev", "", true); err != nil {
		t.Fatal(err)
	}
	got := readKubeconfig(t, path).Contexts["kfup-dev"]
	want := &clientcmdapi.Context{Cluster: "kfup-dev", AuthInfo: "kfup-dev", Namespace: "ml"}
	if diff := cmp.Diff(want, got, ignoreOrigin); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
}

func TestMergeContextExplicitPath(t *testing.T) {
	dir := t.TempDir()
	envFile, explicit := filepath.Join(dir, "env-config"), filepath.Join(dir, "explicit-config")
	writeKubeconfig(t, envFile, kubeconfig("prod", prod))
	writeKubeconfig(t, explicit, kubeconfig("staging", staging))
	isolate(t, envFile)

	file, err := MergeContext(kindKubeconfig(t, "dev", kfupDev.server), "kfup-dev", explicit, true)
	if err != nil {
		t.Fatal(err)
	}
	if file != explicit {
		t.Errorf("MergeContext wrote %q, want %q", file, explicit)
	}
	if diff := cmp.Diff(kubeconfig("kfup-dev", staging, kfupDev), readKubeconfig(t, explicit), ignoreOrigin); diff != "" {
		t.Errorf("explicit kubeconfig (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(kubeconfig("prod", prod), readKubeconfig(t, envFile), ignoreOrigin); diff != "" {
		t.Errorf("$KUBECONFIG file changed (-want +got):\n%s", diff)
	}
	if ok, _ := HasContext("kfup-dev", ""); ok {
		t.Error("HasContext via $KUBECONFIG finds the context written to the explicit file")
	}
	if ok, _ := HasContext("kfup-dev", explicit); !ok {
		t.Error("HasContext(explicit) misses the context")
	}
}

func TestMergeAndRemoveContextKubeconfigList(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	writeKubeconfig(t, first, kubeconfig("prod", prod))
	writeKubeconfig(t, second, kubeconfig("", staging))
	isolate(t, first+string(os.PathListSeparator)+second)

	file, err := MergeContext(kindKubeconfig(t, "dev", kfupDev.server), "kfup-dev", "", true)
	if err != nil {
		t.Fatalf("MergeContext: %v", err)
	}
	if file != first {
		t.Errorf("MergeContext reports %q, want the first file %q", file, first)
	}
	if diff := cmp.Diff(kubeconfig("kfup-dev", prod, kfupDev), readKubeconfig(t, first), ignoreOrigin); diff != "" {
		t.Errorf("first file after merge (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(kubeconfig("", staging), readKubeconfig(t, second), ignoreOrigin); diff != "" {
		t.Errorf("second file changed by merge (-want +got):\n%s", diff)
	}
	for _, name := range []string{"prod", "staging", "kfup-dev"} {
		if ok, err := HasContext(name, ""); err != nil || !ok {
			t.Errorf("HasContext(%s) = %v, %v; want true", name, ok, err)
		}
	}
	if cur, err := CurrentContext(""); err != nil || cur != "kfup-dev" {
		t.Errorf("CurrentContext = %q, %v; want kfup-dev", cur, err)
	}

	if err := RemoveContext("kfup-dev", ""); err != nil {
		t.Fatalf("RemoveContext: %v", err)
	}
	if diff := cmp.Diff(kubeconfig("", prod), readKubeconfig(t, first), ignoreOrigin); diff != "" {
		t.Errorf("first file after remove (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(kubeconfig("", staging), readKubeconfig(t, second), ignoreOrigin); diff != "" {
		t.Errorf("second file changed by remove (-want +got):\n%s", diff)
	}
}

func TestMergeContextIntoSecondFileOfList(t *testing.T) {
	// a kfup context that lives in the second file is updated there, not duplicated
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	writeKubeconfig(t, first, kubeconfig("prod", prod))
	writeKubeconfig(t, second, kubeconfig("", staging, entry{name: "kfup-dev", server: "https://127.0.0.1:1", token: "old"}))
	isolate(t, first+string(os.PathListSeparator)+second)

	file, err := MergeContext(kindKubeconfig(t, "dev", kfupDev.server), "kfup-dev", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if file != second {
		t.Errorf("MergeContext reports %q, want %q", file, second)
	}
	if diff := cmp.Diff(kubeconfig("prod", prod), readKubeconfig(t, first), ignoreOrigin); diff != "" {
		t.Errorf("first file (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(kubeconfig("", staging, kfupDev), readKubeconfig(t, second), ignoreOrigin); diff != "" {
		t.Errorf("second file (-want +got):\n%s", diff)
	}

	// and removing it leaves no stale copy behind to reappear
	if err := RemoveContext("kfup-dev", ""); err != nil {
		t.Fatal(err)
	}
	if ok, err := HasContext("kfup-dev", ""); err != nil || ok {
		t.Errorf("HasContext after RemoveContext = %v, %v; want false", ok, err)
	}
	if diff := cmp.Diff(kubeconfig("", staging), readKubeconfig(t, second), ignoreOrigin); diff != "" {
		t.Errorf("second file after remove (-want +got):\n%s", diff)
	}
}

func TestMergeContextBadInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	writeKubeconfig(t, path, kubeconfig("prod", prod))
	isolate(t, path)

	noCurrent, _ := clientcmd.Write(*kubeconfig("", entry{name: "kind-dev", server: "https://x"}))
	noUser := kubeconfig("kind-dev", entry{name: "kind-dev", server: "https://x"})
	delete(noUser.AuthInfos, "kind-dev")
	noUserBytes, _ := clientcmd.Write(*noUser)

	for name, in := range map[string][]byte{
		"not a kubeconfig":   []byte("{{{"),
		"no current":         noCurrent,
		"context lacks user": noUserBytes,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := MergeContext(in, "kfup-dev", "", true); err == nil {
				t.Fatal("MergeContext: want error")
			}
			if diff := cmp.Diff(kubeconfig("prod", prod), readKubeconfig(t, path), ignoreOrigin); diff != "" {
				t.Errorf("kubeconfig changed by a failed merge (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRemoveContext(t *testing.T) {
	tests := []struct {
		name    string
		initial *clientcmdapi.Config
		remove  string
		want    *clientcmdapi.Config
	}{
		{
			name:    "removes the current context and clears current-context",
			initial: kubeconfig("kfup-dev", prod, staging, kfupDev),
			remove:  "kfup-dev",
			want:    kubeconfig("", prod, staging),
		},
		{
			name:    "keeps current-context pointing elsewhere",
			initial: kubeconfig("prod", prod, staging, kfupDev),
			remove:  "kfup-dev",
			want:    kubeconfig("prod", prod, staging),
		},
		{
			name: "removes an orphaned cluster and user of the name",
			initial: func() *clientcmdapi.Config {
				c := kubeconfig("prod", prod, kfupDev)
				delete(c.Contexts, "kfup-dev")
				return c
			}(),
			remove: "kfup-dev",
			want:   kubeconfig("prod", prod),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config")
			writeKubeconfig(t, path, tt.initial)
			isolate(t, path)
			if err := RemoveContext(tt.remove, ""); err != nil {
				t.Fatalf("RemoveContext: %v", err)
			}
			if diff := cmp.Diff(tt.want, readKubeconfig(t, path), ignoreOrigin); diff != "" {
				t.Errorf("kubeconfig after RemoveContext (-want +got):\n%s", diff)
			}
			if ok, err := HasContext(tt.remove, ""); err != nil || ok {
				t.Errorf("HasContext after remove = %v, %v; want false", ok, err)
			}
		})
	}
}

func TestRemoveContextMissingIsNoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	writeKubeconfig(t, path, kubeconfig("prod", prod, staging))
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	isolate(t, path)
	if err := RemoveContext("kfup-nope", ""); err != nil {
		t.Fatalf("RemoveContext: %v", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("kubeconfig rewritten by a no-op remove (-before +after):\n%s", diff)
	}

	// no kubeconfig at all: nothing to remove, nothing created
	missing := filepath.Join(t.TempDir(), "none")
	t.Setenv(clientcmd.RecommendedConfigPathEnvVar, missing)
	if err := RemoveContext("kfup-nope", ""); err != nil {
		t.Fatalf("RemoveContext without a kubeconfig: %v", err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("RemoveContext created %s: %v", missing, err)
	}
}

func TestCurrentContextUnset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	writeKubeconfig(t, path, kubeconfig("", prod))
	isolate(t, path)
	cur, err := CurrentContext("")
	if err == nil {
		t.Fatalf("CurrentContext = %q, want error", cur)
	}
	if k := errs.KindOf(err); k != errs.KindUsage {
		t.Errorf("kind = %v, want usage", k)
	}
	if h := errs.HintOf(err); !strings.Contains(h, "--context") {
		t.Errorf("hint %q does not mention --context", h)
	}
}

func TestHasContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	writeKubeconfig(t, path, kubeconfig("prod", prod))
	isolate(t, path)
	for name, want := range map[string]bool{"prod": true, "kfup-prod": false, "": false} {
		got, err := HasContext(name, "")
		if err != nil || got != want {
			t.Errorf("HasContext(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	// explicit path that does not exist: no contexts, no error (as kubectl)
	if got, err := HasContext("prod", filepath.Join(t.TempDir(), "none")); err != nil || got {
		t.Errorf("HasContext in a missing explicit file = %v, %v; want false, nil", got, err)
	}
}
