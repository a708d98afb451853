package controller_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/controller"
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/components/tuning/suggest"
	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/conformance"
)

// pbtExample is testdata/simple-pbt.yaml (upstream's simple-pbt, population 5) in ns.
func pbtExample(t *testing.T, ns string) *unstructured.Unstructured {
	t.Helper()
	obj := conformance.Objects(t, "testdata/simple-pbt.yaml")[0]
	obj.SetNamespace(ns)
	return obj
}

// checkPBTJob checks the Job of pbt trial tr: the checkpoint init container first, from
// kfup's image, making the trial's directory from its parent's; the experiment's claim;
// the primary container's mount of the trial's directory at suggestion_trial_dir.
func checkPBTJob(ctx context.Context, ns, exp string, tr *tuningv1beta1.Trial) error {
	job := &batchv1.Job{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: tr.Name}, job); err != nil {
		return err
	}
	spec := job.Spec.Template.Spec
	if len(spec.InitContainers) == 0 || spec.InitContainers[0].Name != engine.CheckpointContainerName {
		return fmt.Errorf("job %s: init containers %+v: want %s first", tr.Name, spec.InitContainers, engine.CheckpointContainerName)
	}
	ic := spec.InitContainers[0]
	cmd := []string{"/kfup", "agent", "checkpoint", "--dir", "/kfup-checkpoints/" + exp + "/" + tr.Name}
	if p := tr.Labels[suggest.PBTParentLabel]; p != "" {
		cmd = append(cmd, "--parent", "/kfup-checkpoints/"+exp+"/"+p)
	}
	if d := cmp.Diff(cmd, ic.Command); d != "" {
		return fmt.Errorf("job %s: checkpoint command (-want +got):\n%s", tr.Name, d)
	}
	// simple-pbt's trainer sets no user (its image's, root): the init container runs as
	// it, with kfup's other restrictions
	wantSC := engine.RunAsTrainer(agent.SecurityContext(), spec.SecurityContext, spec.Containers[0].SecurityContext)
	if ic.Image != testImage || !cmp.Equal(wantSC, ic.SecurityContext) || *wantSC.RunAsUser != 0 || wantSC.Capabilities == nil || *wantSC.AllowPrivilegeEscalation {
		return fmt.Errorf("job %s: checkpoint container image %s, securityContext %+v: want %s, %+v", tr.Name, ic.Image, ic.SecurityContext, testImage, wantSC)
	}
	if d := cmp.Diff([]corev1.VolumeMount{{Name: engine.CheckpointContainerName, MountPath: engine.CheckpointMountPath}}, ic.VolumeMounts); d != "" {
		return fmt.Errorf("job %s: checkpoint container mounts (-want +got):\n%s", tr.Name, d)
	}
	wantVol := corev1.Volume{Name: engine.CheckpointContainerName, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: exp + "-pbt"}}}
	if len(spec.Volumes) != 1 || !cmp.Equal(wantVol, spec.Volumes[0]) {
		return fmt.Errorf("job %s: volumes %+v: want the claim %s-pbt", tr.Name, spec.Volumes, exp)
	}
	want := []corev1.VolumeMount{{Name: engine.CheckpointContainerName, MountPath: "/var/log/katib/checkpoints", SubPath: exp + "/" + tr.Name}}
	if d := cmp.Diff(want, spec.Containers[0].VolumeMounts); d != "" {
		return fmt.Errorf("job %s: primary mounts (-want +got):\n%s", tr.Name, d)
	}
	return nil
}

// TestPBTLifecycle runs the simple-pbt example to its end with a toy model whose
// accuracy each trial continues from its parent's: the checkpoint claim is made and owned
// by the Suggestion, every trial's Job gets its checkpoint (its parent's copied in),
// generations advance, each bred from succeeded members of the one before, and the best
// trial is the optimal one.
func TestPBTLifecycle(t *testing.T) {
	logs := start(t)
	ns := env.Namespace(t)
	obj := pbtExample(t, ns)
	env.CreateAsUser(t, obj)
	key := client.ObjectKey{Namespace: ns, Name: obj.GetName()}

	var mu sync.Mutex
	acc := map[string]float64{} // each trial's accuracy: its parent's plus a step
	var jobErrs []string
	exp := waitDone(t, key, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		drive(t, ctx, ns, logs, func(tr *tuningv1beta1.Trial) (string, end) {
			mu.Lock()
			defer mu.Unlock()
			if _, done := acc[tr.Name]; !done {
				if err := checkPBTJob(ctx, ns, key.Name, tr); err != nil {
					jobErrs = append(jobErrs, err.Error())
				}
				lr, _ := strconv.ParseFloat(tr.Spec.ParameterAssignments[0].Value, 64)
				a := 0.01 - math.Abs(lr-0.01)/2 // best at lr 0.01
				if p := tr.Labels[suggest.PBTParentLabel]; p != "" {
					pa, ok := acc[p]
					if !ok {
						jobErrs = append(jobErrs, fmt.Sprintf("trial %s: parent %s has not run", tr.Name, p))
					}
					a += pa
				}
				acc[tr.Name] = a
			}
			return fmt.Sprintf("epoch 20:\nlr=%s\nValidation-accuracy=%.6f\n", tr.Spec.ParameterAssignments[0].Value, acc[tr.Name]), succeeds
		})
	})
	for _, e := range jobErrs {
		t.Error(e)
	}
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason {
		t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	}
	if exp.Status.TrialsSucceeded != 15 {
		t.Errorf("%d trials succeeded, want 15", exp.Status.TrialsSucceeded)
	}

	trials := trialsOf(t, ns)
	gen := map[string]int{}
	perGen := map[int]int{}
	best, bestAcc := "", -1.0
	for _, tr := range trials {
		g, err := strconv.Atoi(tr.Labels[suggest.PBTGenerationLabel])
		if err != nil || tr.Spec.Labels[suggest.PBTGenerationLabel] != tr.Labels[suggest.PBTGenerationLabel] {
			t.Fatalf("trial %s: labels %v, spec.labels %v: want the generation in both", tr.Name, tr.Labels, tr.Spec.Labels)
		}
		gen[tr.Name] = g
		perGen[g]++
		if acc[tr.Name] > bestAcc {
			best, bestAcc = tr.Name, acc[tr.Name]
		}
	}
	for _, tr := range trials {
		p, ok := tr.Labels[suggest.PBTParentLabel]
		if g := gen[tr.Name]; g == 0 && ok {
			t.Errorf("trial %s of generation 0 has parent %s", tr.Name, p)
		} else if g > 0 && gen[p] != g-1 {
			t.Errorf("trial %s of generation %d: parent %q is not of generation %d", tr.Name, g, p, g-1)
		}
	}
	t.Logf("trials per generation: %v", perGen)
	if perGen[2] == 0 || perGen[0] < 5 || perGen[1] < 5 {
		t.Errorf("trials per generation %v: want generations 0 and 1 of at least 5, and generation 2", perGen)
	}
	if o := exp.Status.CurrentOptimalTrial.BestTrialName; math.Abs(acc[o]-bestAcc) > 1e-6 { // ties (as printed) may pick either
		t.Errorf("currentOptimalTrial %s (accuracy %v), want %s (accuracy %v)", o, acc[o], best, bestAcc)
	}

	sug := &tuningv1beta1.Suggestion{}
	if err := env.Client.Get(context.Background(), key, sug); err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: key.Name + "-pbt"}, pvc); err != nil {
		t.Fatalf("the checkpoint claim: %v", err)
	}
	if !metav1.IsControlledBy(pvc, sug) || pvc.Labels[tuningv1beta1.LabelExperimentName] != key.Name {
		t.Errorf("claim %s: owners %+v, labels %v: want the Suggestion as controller and the experiment's label", pvc.Name, pvc.OwnerReferences, pvc.Labels)
	}
	if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !cmp.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) || got.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("claim %s: access modes %v, storage %s: want ReadWriteOnce, 1Gi", pvc.Name, pvc.Spec.AccessModes, got.String())
	}
}

// TestPBTClaimNotOurs: a claim of the checkpoint volume's name that is not the
// Suggestion's ends the experiment Failed/ResourceExists naming it, before any trial, and
// stays as it was.
func TestPBTClaimNotOurs(t *testing.T) {
	start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	theirs := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "simple-pbt-pbt", Namespace: ns, Labels: map[string]string{"team": "data"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}},
		},
	}
	if err := env.Client.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	obj := pbtExample(t, ns)
	env.CreateAsUser(t, obj)
	exp := waitDone(t, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, nil)
	c := cond(exp, tuningv1beta1.ExperimentFailed)
	if c == nil || c.Reason != controller.ExperimentResourceExistsReason || !strings.Contains(c.Message, ns+"/simple-pbt-pbt") {
		t.Fatalf("conditions %+v: want Failed/%s naming the claim", exp.Status.Conditions, controller.ExperimentResourceExistsReason)
	}
	if n := len(trialsOf(t, ns)); n != 0 {
		t.Errorf("%d trials made with a volume that is not the experiment's", n)
	}
	after := &corev1.PersistentVolumeClaim{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(theirs), after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != theirs.ResourceVersion || len(after.OwnerReferences) != 0 {
		t.Errorf("the claim was changed: resourceVersion %s → %s, owners %+v", theirs.ResourceVersion, after.ResourceVersion, after.OwnerReferences)
	}
}

// TestPBTInvalid: pbt settings upstream refuses, and a template kfup cannot give a
// checkpoint, end the experiment ExperimentInvalid before any trial or claim.
func TestPBTInvalid(t *testing.T) {
	start(t)
	settings := func(kv ...string) []any {
		var out []any
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, map[string]any{"name": kv[i], "value": kv[i+1]})
		}
		return out
	}
	for _, c := range []struct {
		name, want string
		edit       func(u *unstructured.Unstructured)
	}{
		{"no checkpoint directory", "suggestion_trial_dir is not set", func(u *unstructured.Unstructured) {
			set(t, u, settings("n_population", "5", "truncation_threshold", "0.2"), "spec", "algorithm", "algorithmSettings")
		}},
		{"population too small", "n_population", func(u *unstructured.Unstructured) {
			set(t, u, settings("suggestion_trial_dir", "/ckpt", "n_population", "4"), "spec", "algorithm", "algorithmSettings")
		}},
		{"threshold out of range", "truncation_threshold", func(u *unstructured.Unstructured) {
			set(t, u, settings("suggestion_trial_dir", "/ckpt", "truncation_threshold", "1.5"), "spec", "algorithm", "algorithmSettings")
		}},
		{"checkpoint directory already mounted", "already mounts volume ckpt", func(u *unstructured.Unstructured) {
			spec := []string{"spec", "trialTemplate", "trialSpec", "spec", "template", "spec"}
			cs, _, _ := unstructured.NestedSlice(u.Object, append(spec, "containers")...)
			cs[0].(map[string]any)["volumeMounts"] = []any{map[string]any{"name": "ckpt", "mountPath": "/var/log/katib/checkpoints"}}
			set(t, u, cs, append(spec, "containers")...)
			set(t, u, []any{map[string]any{"name": "ckpt", "emptyDir": map[string]any{}}}, append(spec, "volumes")...)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ns := env.Namespace(t)
			obj := pbtExample(t, ns)
			c.edit(obj)
			env.CreateAsUser(t, obj)
			exp := waitDone(t, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, nil)
			fc := cond(exp, tuningv1beta1.ExperimentFailed)
			if fc == nil || fc.Reason != controller.ExperimentInvalidReason || !strings.Contains(fc.Message, c.want) {
				t.Fatalf("conditions %+v: want Failed/%s naming %q", exp.Status.Conditions, controller.ExperimentInvalidReason, c.want)
			}
			if n := len(trialsOf(t, ns)); n != 0 {
				t.Fatalf("an invalid experiment made %d trials", n)
			}
			pvcs := &corev1.PersistentVolumeClaimList{}
			if err := env.Client.List(context.Background(), pvcs, client.InNamespace(ns)); err != nil || len(pvcs.Items) != 0 {
				t.Errorf("an invalid experiment made %d claims (%v)", len(pvcs.Items), err)
			}
		})
	}
}
