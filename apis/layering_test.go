package apis_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/kfup/kfup/"

// goList returns, for each package matching patterns, the packages it imports (direct
// imports with deps false, every dependency with deps true), from the go command itself.
func goList(t *testing.T, deps bool, patterns ...string) map[string][]string {
	t.Helper()
	field := ".Imports"
	if deps {
		field = ".Deps"
	}
	args := append([]string{"list", "-f", "{{.ImportPath}}{{range " + field + "}} {{.}}{{end}}"}, patterns...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		m[f[0]] = f[1:]
	}
	return m
}

// Lower floors never know upper ones: internal/ names no API slice, composition root or
// host tooling; host installers (the install engine, components/registry, each
// component's package) link none of the in-cluster code (the manager process, the
// controllers, their engines and plug-ins, the model server).
func TestLayering(t *testing.T) {
	inCluster := regexp.MustCompile(`^` + module + `(internal/(apihost|incluster|agent)|components/[^/]+/(controller|engine|frameworks|modelserver))(/|$)`)
	above := regexp.MustCompile(`^` + module + `(components|apis|bootstrap|bundle|platform|cmd|profiles|e2e|hack)(/|$)`)
	hostInstaller := regexp.MustCompile(`^` + module + `(components(/[^/]+)?|components/registry|bootstrap(/.*)?|bundle|platform|dashboard(/.*)?)$`)
	for pkg, imports := range goList(t, false, module+"...") {
		for _, imp := range imports {
			if strings.HasPrefix(pkg, module+"internal/") && above.MatchString(imp) {
				t.Errorf("%s imports %s: internal/ must not know the floors above it", pkg, imp)
			}
		}
	}
	for pkg, deps := range goList(t, true, module+"components", module+"components/registry", module+"components/manager",
		module+"components/istio", module+"components/knative", module+"components/training", module+"bootstrap/...", module+"bundle", module+"platform",
		module+"dashboard/...") {
		if !hostInstaller.MatchString(pkg) {
			continue
		}
		for _, d := range deps {
			if inCluster.MatchString(d) {
				t.Errorf("host package %s depends on in-cluster package %s", pkg, d)
			}
			// the cluster lifecycle knows no component: package platform joins the two
			if strings.HasPrefix(pkg, module+"bootstrap") && strings.HasPrefix(d, module+"components") {
				t.Errorf("%s depends on %s: bootstrap is the cluster lifecycle only", pkg, d)
			}
		}
	}
}

// The slim in-cluster binary links none of the host tooling (kind, Helm, image
// building), so the manager image stays small.
func TestManagerBinaryStaysSlim(t *testing.T) {
	deps := goList(t, true, module+"cmd/kfup-manager")[module+"cmd/kfup-manager"]
	if len(deps) == 0 {
		t.Fatal("go list found no dependencies of cmd/kfup-manager")
	}
	for _, d := range deps {
		for _, banned := range []string{"sigs.k8s.io/kind/", "helm.sh/helm/", "github.com/google/go-containerregistry/", module + "bootstrap", module + "components/registry", module + "bundle", module + "platform"} {
			if strings.HasPrefix(d, banned) || d+"/" == banned {
				t.Errorf("cmd/kfup-manager depends on %s", d)
			}
		}
	}
}

// The ingress proxy's own binary links the proxy, its route table and client-go, none of
// the controllers, schemes of the API slices or host tooling: its memory is the proxy's.
func TestIngressBinaryStaysSlim(t *testing.T) {
	deps := goList(t, true, module+"cmd/kfup-ingress")[module+"cmd/kfup-ingress"]
	if len(deps) == 0 {
		t.Fatal("go list found no dependencies of cmd/kfup-ingress")
	}
	allowed := regexp.MustCompile(`^` + module + `components/ingress/(agent|proxy|route|api/v1alpha1)$`)
	for _, d := range deps {
		if strings.HasPrefix(d, module) && !allowed.MatchString(d) {
			t.Errorf("cmd/kfup-ingress depends on %s", d)
		}
		for _, banned := range []string{"sigs.k8s.io/controller-runtime/pkg/manager", "sigs.k8s.io/controller-runtime/pkg/client", "k8s.io/apiextensions-apiserver/", "sigs.k8s.io/kind/", "helm.sh/helm/", "github.com/google/go-containerregistry/"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("cmd/kfup-ingress depends on %s", d)
			}
		}
	}
}
