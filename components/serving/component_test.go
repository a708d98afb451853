package serving_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/serving"
	"github.com/kfup/kfup/profiles"
)

// A bundle carries the images of the upstream runtimes the profile names, once each;
// by default none; an unknown runtime is an error naming the known ones.
func TestBundleRuntimeImages(t *testing.T) {
	env := func(list string) *components.Env {
		p := profiles.Defaults()
		p.Components.Serving.BundleRuntimes = list
		return &components.Env{Profile: p}
	}
	if got, err := (serving.Component{}).Images(env("")); err != nil || len(got) != 0 {
		t.Errorf("default: %v %v, want none", got, err)
	}
	got, err := serving.Component{}.Images(env("kserve-sklearnserver,kserve-xgbserver,kserve-sklearnserver"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"kserve/sklearnserver:v0.16.0", "kserve/xgbserver:v0.16.0"}, got); d != "" {
		t.Errorf("images (-want +got):\n%s", d)
	}
	_, err = serving.Component{}.Images(env("kfup-modelserver"))
	if err == nil || !strings.Contains(err.Error(), `"kfup-modelserver" is not one of kfup's upstream runtimes`) || !strings.Contains(err.Error(), "kserve-tritonserver") {
		t.Errorf("kfup's own runtime: got %v", err)
	}
}
