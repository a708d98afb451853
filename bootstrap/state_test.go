package bootstrap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/profiles"
)

func TestStoreSaveLoad(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	created := time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		rec  Record
	}{
		{
			name: "kind cluster, all fields",
			rec: Record{
				Name: "kfup", Provider: ProviderKind, Phase: PhaseReady, NodeImage: "kindest/node:v1.37.2",
				HTTPPort: 8080, HTTPSPort: 8443, Context: "kfup-kfup", Kubeconfig: "/tmp/kc", CreatedAt: created,
			},
		},
		{
			name: "applied profile with --set kept",
			rec: Record{
				Name: "mesh", Provider: ProviderKind, Phase: PhaseReady, Context: "kfup-mesh", CreatedAt: created,
				Profile: "minimal", Components: []string{"training", "manager", "istio"}, Applied: appliedProfile(t),
			},
		},
		{
			name: "existing cluster, optional fields empty",
			rec:  Record{Name: "ml-dev", Provider: ProviderExisting, Phase: PhaseCreating, Context: "my-ctx", CreatedAt: created},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Save(&tt.rec); err != nil {
				t.Fatalf("Save: %v", err)
			}
			got, err := s.Load(tt.rec.Name)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(&tt.rec, got); diff != "" {
				t.Errorf("Load after Save (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStoreSaveOverwritesAtomically(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	r := &Record{Name: "kfup", Provider: ProviderKind, Phase: PhaseCreating, Context: "kfup-kfup"}
	if err := s.Save(r); err != nil {
		t.Fatal(err)
	}
	r.Phase, r.HTTPPort = PhaseReady, 80
	if err := s.Save(r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("kfup")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("Load after second Save (-want +got):\n%s", diff)
	}
	entries, err := os.ReadDir(s.ClusterDir("kfup"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"cluster.json"}, names); diff != "" {
		t.Errorf("files left in the cluster dir (-want +got):\n%s", diff)
	}
	info, err := os.Stat(s.ClusterDir("kfup"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("cluster dir mode = %v, want private", perm)
	}
}

func TestStoreLoadMissing(t *testing.T) {
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "does-not-exist")} {
		got, err := Store{Dir: dir}.Load("kfup")
		if err != nil || got != nil {
			t.Errorf("Load in %s = %+v, %v; want nil, nil", dir, got, err)
		}
	}
}

func TestStoreLoadCorrupt(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	for _, content := range []string{"{not json", "", `{"name": 42}`} {
		if err := os.MkdirAll(s.ClusterDir("kfup"), 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(s.ClusterDir("kfup"), "cluster.json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load("kfup")
		if err == nil {
			t.Fatalf("Load(%q) = %+v, want error", content, got)
		}
		if k := errs.KindOf(err); k != errs.KindUsage {
			t.Errorf("Load(%q): kind = %v, want usage", content, k)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("Load(%q): error %q does not name %s", content, err, path)
		}
		if h := errs.HintOf(err); !strings.Contains(h, s.ClusterDir("kfup")) {
			t.Errorf("Load(%q): hint %q does not name the cluster dir", content, h)
		}
	}
}

func TestStoreNamesAndRemove(t *testing.T) {
	s := Store{Dir: t.TempDir()}

	names, err := s.Names()
	if err != nil || names != nil {
		t.Fatalf("Names on empty store = %v, %v; want nil, nil", names, err)
	}

	for _, n := range []string{"zeta", "alpha", "ml-dev"} {
		if err := s.Save(&Record{Name: n, Provider: ProviderKind, Context: ContextName(n)}); err != nil {
			t.Fatal(err)
		}
	}
	// a stray file in clusters/ is not a cluster
	if err := os.WriteFile(filepath.Join(s.Dir, "clusters", "README"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	names, err = s.Names()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"alpha", "ml-dev", "zeta"}, names); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}

	// Remove takes everything under the cluster's dir, including kind's kubeconfig
	if err := os.WriteFile(filepath.Join(s.ClusterDir("alpha"), "kind-kubeconfig"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("alpha"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(s.ClusterDir("alpha")); !os.IsNotExist(err) {
		t.Errorf("cluster dir still there after Remove: %v", err)
	}
	if r, err := s.Load("alpha"); r != nil || err != nil {
		t.Errorf("Load after Remove = %+v, %v; want nil, nil", r, err)
	}
	if err := s.Remove("alpha"); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if err := s.Remove("never-existed"); err != nil {
		t.Errorf("Remove of a missing cluster: %v", err)
	}
	names, err = s.Names()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ml-dev", "zeta"}, names); diff != "" {
		t.Errorf("Names after Remove (-want +got):\n%s", diff)
	}
}

func TestDefaultStore(t *testing.T) {
	tests := []struct {
		name, kfupHome, xdg string
		want                string
	}{
		{name: "KFUP_HOME wins", kfupHome: "/k", xdg: "/x", want: "/k"},
		{name: "XDG_STATE_HOME", xdg: "/x", want: filepath.Join("/x", "kfup")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KFUP_HOME", tt.kfupHome)
			t.Setenv("XDG_STATE_HOME", tt.xdg)
			s, err := DefaultStore()
			if err != nil {
				t.Fatal(err)
			}
			if s.Dir != tt.want {
				t.Errorf("Dir = %q, want %q", s.Dir, tt.want)
			}
		})
	}
	t.Run("home", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("KFUP_HOME", "")
		t.Setenv("XDG_STATE_HOME", "")
		t.Setenv("HOME", home)
		s, err := DefaultStore()
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(home, ".local", "state", "kfup"); s.Dir != want {
			t.Errorf("Dir = %q, want %q", s.Dir, want)
		}
	})
}

// appliedProfile is minimal with istio enabled and its gateway off, as --set makes it.
func appliedProfile(t *testing.T) *profiles.Profile {
	p, err := profiles.Load("minimal")
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"components.istio.enabled=true", "components.istio.ingressGateway=false"} {
		if err := p.Set(set); err != nil {
			t.Fatal(err)
		}
	}
	return p
}
