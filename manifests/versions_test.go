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
