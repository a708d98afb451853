package bootstrap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/internal/errs"

	"github.com/kfup/kfup/internal/testio"
)

// The lifecycle's state machine through a fake kind provider: every branch of Create and
// Delete, judged by what is left afterwards (cluster, record, kubeconfig contexts) and by
// the status lines.

// newSteps are the status lines of a first creation of cluster "x".
var newSteps = []string{
	` ✓ Checking the host`,
	` ✓ Preparing the cluster config`,
	` ✓ Creating cluster "x" (kind, kfup-offline/node:v1)`,
	` ✓ Writing kubeconfig context`,
	` ✓ Waiting ≤ 10s for the node to be Ready`,
}

func saveRecord(t *testing.T, l *lifecycle, provider string, phase Phase) {
	t.Helper()
	rec := &Record{Name: "x", Provider: provider, Phase: phase, Context: ContextName("x"), Kubeconfig: l.kubeconfig, CreatedAt: time.Now()}
	if provider == ProviderExisting {
		rec.Context = "mine"
	}
	if err := l.store.Save(rec); err != nil {
		t.Fatal(err)
	}
}

func TestCreate(t *testing.T) {
	failedWait := append(append([]string(nil), newSteps[:4]...), ` ✗ Waiting ≤ 1s for the node to be Ready`)
	tests := []struct {
		name  string
		setup func(t *testing.T, l *lifecycle)
		opts  func(o *CreateOptions)
		// create is what the provider's Create does once the node exists: "" succeeds,
		// "fail" fails, "cancel" is interrupted (Ctrl-C while kind runs)
		create string

		wantErr      string // substring; "" means success
		wantKind     errs.Kind
		wantHint     string // substring of the hint
		wantCalls    []string
		wantPhase    Phase  // of the record afterwards; "" none
		wantNode     string // the node's state afterwards; "" no cluster
		wantContexts []string
		wantSteps    []string
	}{{
		name:      "new cluster",
		wantCalls: []string{"create x"}, wantPhase: PhaseReady, wantNode: "running",
		wantContexts: []string{"kfup-x", "mine"}, wantSteps: newSteps,
	}, {
		name:    "a cluster kfup did not create is in the way: nothing touched",
		setup:   func(t *testing.T, l *lifecycle) { l.kind.setNodes(t, "x", "running") },
		wantErr: `a kind cluster named "x" exists that kfup did not create`, wantKind: errs.KindConflict,
		wantHint: "kfup create --provider existing --context kind-x --name x",
		wantNode: "running", wantContexts: []string{"mine"},
	}, {
		name: "Ready record, stopped node: converge starts it",
		setup: func(t *testing.T, l *lifecycle) {
			saveRecord(t, l, ProviderKind, PhaseReady)
			l.kind.setNodes(t, "x", "exited")
		},
		wantCalls: []string{"start x"}, wantPhase: PhaseReady, wantNode: "running", wantContexts: []string{"kfup-x", "mine"},
		wantSteps: []string{
			` ✓ Checking existing cluster "x"`,
			` ✓ Starting cluster "x" (node container x-control-plane is exited)`,
			` ✓ Writing kubeconfig context`,
			` ✓ Waiting ≤ 10s for the node status to be current`,
			` ✓ Waiting ≤ LEFT for the node to be Ready`,
		},
	}, {
		name: "Ready record, running node: converge only checks",
		setup: func(t *testing.T, l *lifecycle) {
			saveRecord(t, l, ProviderKind, PhaseReady)
			l.kind.setNodes(t, "x", "running")
		},
		wantPhase: PhaseReady, wantNode: "running", wantContexts: []string{"kfup-x", "mine"},
		wantSteps: []string{
			` ✓ Checking existing cluster "x"`,
			` ✓ Writing kubeconfig context`,
			` ✓ Waiting ≤ 10s for the node status to be current`,
			` ✓ Waiting ≤ LEFT for the node to be Ready`,
		},
	}, {
		name: "Creating record left by a killed create: removed and created afresh",
		setup: func(t *testing.T, l *lifecycle) {
			saveRecord(t, l, ProviderKind, PhaseCreating)
			l.kind.setNodes(t, "x", "running")
		},
		wantCalls: []string{"delete x", "create x"}, wantPhase: PhaseReady, wantNode: "running",
		wantContexts: []string{"kfup-x", "mine"},
		wantSteps:    append([]string{` ✓ Removing cluster "x" left by an interrupted create`}, newSteps...),
	}, {
		name:      "Creating record, no cluster: created afresh",
		setup:     func(t *testing.T, l *lifecycle) { saveRecord(t, l, ProviderKind, PhaseCreating) },
		wantCalls: []string{"create x"}, wantPhase: PhaseReady, wantNode: "running",
		wantContexts: []string{"kfup-x", "mine"}, wantSteps: newSteps,
	}, {
		name:    "record of another provider",
		setup:   func(t *testing.T, l *lifecycle) { saveRecord(t, l, ProviderExisting, PhaseReady) },
		wantErr: `cluster "x" was set up with --provider existing, not kind`, wantKind: errs.KindConflict,
		wantHint: "kfup delete --name x", wantPhase: PhaseReady, wantContexts: []string{"mine"},
	}, {
		name:    "a step fails: cluster, context and record removed",
		setup:   func(t *testing.T, l *lifecycle) { l.api.notReady.Store(true) },
		opts:    func(o *CreateOptions) { o.Wait = time.Second },
		wantErr: "cluster not ready after 1s", wantKind: errs.KindTimeout,
		wantCalls: []string{"create x", "delete x"}, wantContexts: []string{"mine"},
		wantSteps: append(failedWait, ` ✓ Removing the unfinished cluster "x"`),
	}, {
		name:    "a step fails with --retain: all kept, record still Creating",
		setup:   func(t *testing.T, l *lifecycle) { l.api.notReady.Store(true) },
		opts:    func(o *CreateOptions) { o.Wait, o.Retain = time.Second, true },
		wantErr: "cluster not ready after 1s", wantKind: errs.KindTimeout, wantHint: "--retain",
		wantCalls: []string{"create x"}, wantPhase: PhaseCreating, wantNode: "running",
		wantContexts: []string{"kfup-x", "mine"}, wantSteps: failedWait,
	}, {
		name:    "the provider fails to create: what it made is removed",
		create:  "fail",
		wantErr: "boom", wantCalls: []string{"create x", "delete x"}, wantContexts: []string{"mine"},
		wantSteps: append(append([]string(nil), newSteps[:2]...),
			` ✗ Creating cluster "x" (kind, kfup-offline/node:v1)`, ` ✓ Removing the unfinished cluster "x"`),
	}, {
		name:    "interrupted while creating: cleaned up",
		create:  "cancel",
		wantErr: "context canceled", wantKind: errs.KindInterrupted,
		wantCalls: []string{"create x", "delete x"}, wantContexts: []string{"mine"},
		wantSteps: append(append([]string(nil), newSteps[:2]...),
			` ✗ Creating cluster "x" (kind, kfup-offline/node:v1)`, ` ✓ Removing the unfinished cluster "x"`),
	}, {
		name: "existing provider: adopted, nothing created",
		opts: func(o *CreateOptions) { o.Provider, o.Context, o.NodeImage = ProviderExisting, "mine", "" },
		// a kind cluster of that name is none of an adopted cluster's business
		setup:     func(t *testing.T, l *lifecycle) { l.kind.setNodes(t, "x", "running") },
		wantPhase: PhaseReady, wantNode: "running", wantContexts: []string{"mine"},
		wantSteps: []string{` ✓ Connecting to context "mine"`, ` ✓ Waiting ≤ 10s for the node to be Ready`},
	}, {
		name:    "existing provider, unknown context",
		opts:    func(o *CreateOptions) { o.Provider, o.Context, o.NodeImage = ProviderExisting, "nope", "" },
		wantErr: `context "nope"`, wantKind: errs.KindUsage, wantHint: "kubectl config get-contexts",
		wantContexts: []string{"mine"}, wantSteps: []string{` ✗ Connecting to context "nope"`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t)
			if tt.setup != nil {
				tt.setup(t, l)
			}
			o := l.opts("x")
			if tt.opts != nil {
				tt.opts(&o)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			switch tt.create {
			case "fail":
				l.kind.onCreate = func(context.Context, ClusterSpec) error { return errors.New("boom") }
			case "cancel":
				l.kind.onCreate = func(ctx context.Context, _ ClusterSpec) error {
					cancel()
					<-ctx.Done()
					return ctx.Err()
				}
			}
			var out testio.Buffer
			rec, err := Create(ctx, l.env(&out), o)
			checkErr(t, err, tt.wantErr, tt.wantKind, tt.wantHint)
			if err == nil && (rec == nil || rec.Phase != PhaseReady) {
				t.Errorf("Create returned record %+v, want a Ready one", rec)
			}
			if diff := cmp.Diff(tt.wantCalls, l.kind.Calls()); diff != "" {
				t.Errorf("provider calls (-want +got):\n%s", diff)
			}
			if got := l.phase(t, "x"); got != tt.wantPhase {
				t.Errorf("record phase = %q, want %q", got, tt.wantPhase)
			}
			if got, _ := l.kind.state("x"); got != tt.wantNode {
				t.Errorf("node = %q, want %q", got, tt.wantNode)
			}
			if diff := cmp.Diff(tt.wantContexts, l.contexts(t)); diff != "" {
				t.Errorf("kubeconfig contexts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSteps, steps(out.String())); diff != "" {
				t.Errorf("status lines (-want +got):\n%s\noutput:\n%s", diff, out.String())
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string, kind errs.Kind, hint string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one containing %q", err, want)
	}
	if got := errs.KindOf(err); got != kind {
		t.Errorf("error kind = %v, want %v (err: %v)", got, kind, err)
	}
	if !strings.Contains(errs.HintOf(err), hint) {
		t.Errorf("hint = %q, want one containing %q", errs.HintOf(err), hint)
	}
}

func TestDelete(t *testing.T) {
	withContext := func(t *testing.T, l *lifecycle) {
		t.Helper()
		if _, err := MergeContext(kindKubeconfig(t, "x", l.api.URL()), ContextName("x"), l.kubeconfig, false); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, l *lifecycle)

		wantErr      string
		want         *DeleteResult
		wantCalls    []string
		wantPhase    Phase
		wantNode     string
		wantContexts []string
		wantSteps    []string
	}{{
		name: "kfup's kind cluster: cluster, context and record go",
		setup: func(t *testing.T, l *lifecycle) {
			saveRecord(t, l, ProviderKind, PhaseReady)
			l.kind.setNodes(t, "x", "running")
			withContext(t, l)
		},
		want:      &DeleteResult{Name: "x", Deleted: true, Provider: ProviderKind},
		wantCalls: []string{"delete x"}, wantContexts: []string{"mine"},
		wantSteps: []string{` ✓ Deleting cluster "x"`, ` ✓ Removing kubeconfig context kfup-x`},
	}, {
		name:  "a kind cluster kfup did not create is left alone",
		setup: func(t *testing.T, l *lifecycle) { l.kind.setNodes(t, "x", "running") },
		want:  &DeleteResult{Name: "x"}, wantNode: "running", wantContexts: []string{"mine"},
		wantSteps: []string{`WARNING: a kind cluster named "x" exists but kfup did not create it; leaving it alone (delete it with kind)`},
	}, {
		name: "an existing cluster is only forgotten",
		setup: func(t *testing.T, l *lifecycle) {
			saveRecord(t, l, ProviderExisting, PhaseReady)
			l.kind.setNodes(t, "x", "running") // not its business either
		},
		want:     &DeleteResult{Name: "x", Deleted: true, Provider: ProviderExisting},
		wantNode: "running", wantContexts: []string{"mine"},
		wantSteps: []string{` ✓ Forgetting existing cluster "x" (it keeps running)`},
	}, {
		name:  "a leftover context alone goes",
		setup: withContext,
		want:  &DeleteResult{Name: "x", Deleted: true}, wantContexts: []string{"mine"},
		wantSteps: []string{` ✓ Removing kubeconfig context kfup-x`},
	}, {
		name: "nothing to delete",
		want: &DeleteResult{Name: "x"}, wantContexts: []string{"mine"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t)
			if tt.setup != nil {
				tt.setup(t, l)
			}
			var out testio.Buffer
			got, err := Delete(context.Background(), l.env(&out), "x", "")
			checkErr(t, err, tt.wantErr, errs.KindUnknown, "")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCalls, l.kind.Calls()); diff != "" {
				t.Errorf("provider calls (-want +got):\n%s", diff)
			}
			if got := l.phase(t, "x"); got != tt.wantPhase {
				t.Errorf("record phase = %q, want %q", got, tt.wantPhase)
			}
			if got, _ := l.kind.state("x"); got != tt.wantNode {
				t.Errorf("node = %q, want %q", got, tt.wantNode)
			}
			if diff := cmp.Diff(tt.wantContexts, l.contexts(t)); diff != "" {
				t.Errorf("kubeconfig contexts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSteps, steps(out.String())); diff != "" {
				t.Errorf("status lines (-want +got):\n%s\noutput:\n%s", diff, out.String())
			}
		})
	}
}

// TestRecordKeptWhileTheClusterMayRemain: kfup forgets a cluster only once it knows the
// cluster is gone. Without its record, kfup would refuse to delete the cluster later (it
// never deletes what it did not make).
func TestRecordKeptWhileTheClusterMayRemain(t *testing.T) {
	dockerDown := errors.New("list kind clusters: cannot connect to the docker daemon")
	tests := []struct {
		name string
		// run fails while the provider cannot be asked (or cannot delete)
		run       func(t *testing.T, l *lifecycle, env *Env) error
		wantErr   string
		wantPhase Phase
		// the failed create says how to finish the job
		wantDeleteAdvice bool
	}{{
		name: "create fails and Docker cannot be asked during cleanup",
		run: func(t *testing.T, l *lifecycle, env *Env) error {
			l.kind.onCreate = func(context.Context, ClusterSpec) error {
				l.kind.failExists(dockerDown)
				return errors.New("boom")
			}
			_, err := Create(context.Background(), env, l.opts("x"))
			return err
		},
		wantErr: "boom (cleanup also failed: list kind clusters", wantPhase: PhaseCreating, wantDeleteAdvice: true,
	}, {
		name: "create fails and the cluster cannot be removed during cleanup",
		run: func(t *testing.T, l *lifecycle, env *Env) error {
			l.kind.onCreate = func(context.Context, ClusterSpec) error {
				l.kind.deleteErr = errors.New("docker rm: device busy")
				return errors.New("boom")
			}
			_, err := Create(context.Background(), env, l.opts("x"))
			return err
		},
		wantErr: "boom (cleanup also failed: docker rm: device busy", wantPhase: PhaseCreating, wantDeleteAdvice: true,
	}, {
		name: "delete cannot ask Docker",
		run: func(t *testing.T, l *lifecycle, env *Env) error {
			if _, err := Create(context.Background(), env, l.opts("x")); err != nil {
				t.Fatal(err)
			}
			l.kind.failExists(dockerDown)
			_, err := Delete(context.Background(), env, "x", "")
			return err
		},
		wantErr: "cannot connect to the docker daemon", wantPhase: PhaseReady,
	}, {
		name: "delete cannot remove the cluster",
		run: func(t *testing.T, l *lifecycle, env *Env) error {
			if _, err := Create(context.Background(), env, l.opts("x")); err != nil {
				t.Fatal(err)
			}
			l.kind.deleteErr = errors.New("docker rm: device busy")
			_, err := Delete(context.Background(), env, "x", "")
			return err
		},
		wantErr: "docker rm: device busy", wantPhase: PhaseReady,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t)
			var out testio.Buffer
			env := l.env(&out)
			err := tt.run(t, l, env)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.wantDeleteAdvice && !strings.Contains(err.Error(), "run 'kfup delete --name x'") {
				t.Errorf("err = %v: does not say to run 'kfup delete --name x'", err)
			}
			if got := l.phase(t, "x"); got != tt.wantPhase {
				t.Fatalf("record phase = %q, want %q: the cluster %s is left without a record", got, tt.wantPhase, l.kind.Calls())
			}
			// once Docker answers again, kfup delete removes the cluster
			l.kind.failExists(nil)
			l.kind.deleteErr = nil
			res, err := Delete(context.Background(), env, "x", "")
			if err != nil || !res.Deleted {
				t.Fatalf("Delete after recovery = %+v, %v", res, err)
			}
			if st, ok := l.kind.state("x"); ok {
				t.Errorf("cluster still there (node %s) after kfup delete", st)
			}
			if got := l.phase(t, "x"); got != "" {
				t.Errorf("record phase = %q after kfup delete, want none", got)
			}
		})
	}
}
