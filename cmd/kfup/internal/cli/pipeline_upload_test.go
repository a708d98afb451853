package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/internal/conformance"
)

func TestPipelineUpload(t *testing.T) {
	file := conformance.Files(t, "pipelines/valid/pipeline_with_secret_as_env.yaml")[0]
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	version := "secrets-" + hex.EncodeToString(sum[:])[:8]
	docs := fileDocuments(t, file)

	api, fc, out, errOut := newFakePipelineAPI(t)
	upload := func(args ...string) error {
		cmd := NewCmdPipelineUpload(api.f, func(ctx context.Context, o *PipelineUploadOptions) error { return runPipelineUpload(ctx, api, o) })
		return runPipelineCmd(api.f, cmd, append([]string{"upload"}, args...)...)
	}
	if err := upload(file, "--pipeline", "secrets"); err != nil {
		t.Fatal(err)
	}
	if out.String() != version+"\n" {
		t.Errorf("stdout = %q, want %q", out, version)
	}
	ctx := context.Background()
	pl := &pipelinesv2beta1.Pipeline{}
	if err := fc.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "secrets"}, pl); err != nil {
		t.Fatal(err)
	}
	v := &pipelinesv2beta1.PipelineVersion{}
	if err := fc.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: version}, v); err != nil {
		t.Fatal(err)
	}
	want := pipelinesv2beta1.PipelineVersionSpec{PipelineName: "secrets", PipelineSpec: *docs[0], PlatformSpec: docs[1]}
	if diff := cmp.Diff(want, v.Spec, jsonValues); diff != "" {
		t.Errorf("version spec (-want +got):\n%s", diff)
	}
	wantOwner := []metav1.OwnerReference{{APIVersion: "pipelines.kubeflow.org/v2beta1", Kind: "Pipeline", Name: "secrets", UID: pl.UID}}
	if diff := cmp.Diff(wantOwner, v.OwnerReferences); diff != "" {
		t.Errorf("owner (-want +got):\n%s", diff)
	}

	// The same file again changes nothing; another file under the same version name is
	// a conflict.
	out.Reset()
	if err := upload(file, "--pipeline", "secrets"); err != nil || out.String() != version+"\n" || !strings.Contains(errOut.String(), "is already uploaded") {
		t.Errorf("again: %v, %q, %q", err, out, errOut)
	}
	other := conformance.Files(t, "pipelines/valid/add_numbers.yaml")[0]
	if err := upload(other, "--pipeline", "secrets", "--version", version); ExitCode(err) != ExitConflict {
		t.Errorf("other file, same version: %v", err)
	}
	// A second version of an existing pipeline.
	out.Reset()
	if err := upload(other, "--pipeline", "secrets", "--version", "v2", "-n", "default"); err != nil || out.String() != "v2\n" {
		t.Errorf("v2: %v, %q", err, out)
	}
	list := &pipelinesv2beta1.PipelineVersionList{}
	if err := fc.c.List(ctx, list); err != nil || len(list.Items) != 2 {
		t.Errorf("versions: %v, %d", err, len(list.Items))
	}

	invalid := conformance.Files(t, "pipelines/invalid/invalid_yaml.yaml")[0]
	connects := fc.connects
	for _, args := range [][]string{{invalid, "--pipeline", "x"}, {file}, {file, "--pipeline", "Bad_Name"}, {file, "--pipeline", "x", "--version", "a b"}} {
		if err := upload(args...); ExitCode(err) != ExitUsage {
			t.Errorf("%v: %v", args, err)
		}
	}
	if fc.connects != connects {
		t.Errorf("a refused upload reached the cluster")
	}
}
