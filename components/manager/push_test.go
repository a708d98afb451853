package manager

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/internal/errs"
)

func pullPolicy(t *testing.T, s Settings) string {
	t.Helper()
	objs, err := Objects(ImageRepo+":abc", s)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			return containers[0].(map[string]any)["imagePullPolicy"].(string)
		}
	}
	t.Fatal("no Deployment")
	return ""
}

func TestPushToRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, tag, err := BuildImage(staticBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Push(context.Background(), img, tag, host+"/kfup/manager")
	if err != nil {
		t.Fatal(err)
	}
	if want := host + "/kfup/manager:" + strings.TrimPrefix(tag, ImageRepo+":"); ref != want {
		t.Fatalf("pushed as %s, want %s", ref, want)
	}
	r, _ := name.ParseReference(ref)
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatalf("the registry does not have %s: %v", ref, err)
	}
	if d, _ := img.Digest(); desc.Digest != d {
		t.Fatalf("pushed digest %s, built %s", desc.Digest, d)
	}
	if _, err := Push(context.Background(), img, tag, "Not A Repo"); errs.KindOf(err) != errs.KindUsage {
		t.Fatalf("bad repository: want a usage error, got %v", err)
	}
	if got := pullPolicy(t, Settings{Replicas: 1, Registry: host + "/kfup/manager"}); got != "IfNotPresent" {
		t.Errorf("pushed image: pull policy %s", got)
	}
	if got := pullPolicy(t, DefaultSettings()); got != "Never" {
		t.Errorf("loaded image: pull policy %s", got)
	}
}

// A cluster whose nodes kfup cannot load (--provider existing) and no registry: refused
// before anything is applied, with the setting that fixes it.
func TestInstallWithoutLoaderOrRegistry(t *testing.T) {
	c := &Component{Binary: staticBinary(t)}
	err := c.Install(context.Background(), &components.Env{})
	if errs.KindOf(err) != errs.KindUsage || !strings.Contains(errs.HintOf(err), "components.manager.registry") {
		t.Fatalf("want a usage error naming components.manager.registry, got %v (hint %q)", err, errs.HintOf(err))
	}
}
