package cli

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// testNow is the fake clock of the pipeline command tests.
var testNow = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// fakeCluster is a cluster for the pipeline commands: controller-runtime's fake client for
// objects, client-go's fake clientset for pod logs. tick, when set, runs at each poll
// instead of sleeping (it moves the fake run on); it returns an error to stop the poll.
type fakeCluster struct {
	c        client.WithWatch
	cs       *kubefake.Clientset
	connects int
	polls    int
	tick     func(n int) error
}

// newFakePipelineAPI returns a Factory over buffers and a pipelineAPI over a fake cluster
// holding objs.
func newFakePipelineAPI(t *testing.T, objs ...client.Object) (*pipelineAPI, *fakeCluster, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	t.Setenv("NO_COLOR", "1")
	f, out, errOut := testFactory(t)
	scheme, err := pipelineScheme()
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeCluster{
		c:  fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build(),
		cs: kubefake.NewClientset(),
	}
	api := &pipelineAPI{
		f: f,
		connect: func(context.Context) (client.Client, kubernetes.Interface, error) {
			fc.connects++
			return fc.c, fc.cs, nil
		},
		now: func() time.Time { return testNow },
		sleep: func(ctx context.Context, d time.Duration) error {
			fc.polls++
			if fc.tick != nil {
				return fc.tick(fc.polls)
			}
			return ctx.Err()
		},
		poll: time.Second,
	}
	return api, fc, out, errOut
}

// runPipelineCmd runs `kfup pipeline ARGS...` with sub, the subcommand under test, and
// returns the error as Main classifies it.
func runPipelineCmd(f *Factory, sub *cobra.Command, args ...string) error {
	parent := &cobra.Command{Use: "pipeline"}
	parent.AddCommand(sub)
	return execute(f, parent, append([]string{"pipeline"}, args...)...)
}
