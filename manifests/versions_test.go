package manifests

import (
	"os"
	"strings"
	"testing"
)

func TestKindVersionMatchesGoMod(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "sigs.k8s.io/kind "+KindVersion+"\n") {
		t.Fatalf("go.mod does not pin sigs.k8s.io/kind %s; update manifests.KindVersion or go.mod", KindVersion)
	}
}

// The vendored Knative files were generated from the pins in versions.go.
func TestKnativeFilesMatchPins(t *testing.T) {
	want := "from " + KnativeOperatorModule + "@" + KnativeOperatorVersion + " (" + KnativeOperatorSum + "), cmd/operator/kodata/"
	files := append(KnativeServing(), NetIstio()...)
	if len(files) < 5 {
		t.Fatalf("want the serving and net-istio files, got %d", len(files))
	}
	for _, f := range files {
		first := strings.SplitN(string(f.Data), "\n", 2)[0]
		if !strings.Contains(first, want) {
			t.Errorf("%s: header %q does not name %q: run make generate", f.Name, first, want)
		}
	}
	for _, f := range KnativeServing() {
		if !strings.Contains(strings.SplitN(string(f.Data), "\n", 2)[0], "knative-serving/"+KnativeServingVersion+"/") {
			t.Errorf("%s is not Knative Serving %s", f.Name, KnativeServingVersion)
		}
	}
	b, err := os.ReadFile("knative.go")
	if err != nil {
		t.Fatal(err)
	}
	gen := "-module " + KnativeOperatorModule + "@" + KnativeOperatorVersion + " -sum " + KnativeOperatorSum + " -serving " + KnativeServingVersion + " -net-istio " + NetIstioMinor
	if !strings.Contains(string(b), gen) {
		t.Errorf("the go:generate line in knative.go does not carry the pins of versions.go (%s)", gen)
	}
}
