package policy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

// withResources gives every container of the job's replica rtype requests and limits,
// and the replica a priority class.
func withResources(rtype trainingv1.ReplicaType, requests, limits corev1.ResourceList, priorityClass string) func(*trainingv1.PyTorchJob) {
	return func(j *trainingv1.PyTorchJob) {
		spec := j.Spec.PyTorchReplicaSpecs[rtype]
		spec.Template.Spec.PriorityClassName = priorityClass
		for i := range spec.Template.Spec.Containers {
			spec.Template.Spec.Containers[i].Resources = corev1.ResourceRequirements{Requests: requests, Limits: limits}
		}
	}
}

func res(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func TestMinMemberAndMinResources(t *testing.T) {
	job := ptJob(1, 3, trainingv1.RestartPolicyOnFailure,
		withResources("Master", res("cpu", "2", "memory", "1Gi"), nil, "high"),
		withResources("Worker", res("cpu", "1"), res("cpu", "4", "nvidia.com/gpu", "1"), ""))
	fw := framework(t, "PyTorchJob")
	specs := fw.ReplicaSpecs(job)
	if got := policy.MinMember(specs, nil); got != 4 {
		t.Errorf("MinMember without a policy = %d, want every replica (4)", got)
	}
	if got := policy.MinMember(specs, &trainingv1.SchedulingPolicy{MinAvailable: ptr.To[int32](2)}); got != 2 {
		t.Errorf("MinMember with minAvailable 2 = %d", got)
	}
	priority := func(name string) (int32, bool) { return map[string]int32{"high": 1000}[name], name == "high" }
	// the master (priority 1000) first, then one worker: its cpu request, not its limit, and
	// its gpu limit, which has no request
	got := policy.MinResources(specs, 2, priority)
	if want := res("cpu", "3", "memory", "1Gi", "nvidia.com/gpu", "1"); !equalResources(got, want) {
		t.Errorf("MinResources(2) = %v, want %v", got, want)
	}
	if got := policy.MinResources(specs, 4, priority); !equalResources(got, res("cpu", "5", "memory", "1Gi", "nvidia.com/gpu", "3")) {
		t.Errorf("MinResources(4) = %v", got)
	}
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, q := range a {
		if q.Cmp(b[k]) != 0 {
			return false
		}
	}
	return true
}

func TestPodGroup(t *testing.T) {
	fw := framework(t, "PyTorchJob")
	none := func(string) (int32, bool) { return 0, false }
	plain := ptJob(1, 1, trainingv1.RestartPolicyOnFailure, withResources("Worker", res("cpu", "1"), nil, ""))

	pg, err := policy.PodGroup(fw, plain, policy.GangVolcano, none)
	if err != nil {
		t.Fatal(err)
	}
	if pg.GetAPIVersion() != "scheduling.volcano.sh/v1beta1" || pg.GetKind() != "PodGroup" || pg.GetName() != plain.Name || pg.GetNamespace() != plain.Namespace {
		t.Fatalf("volcano PodGroup identity: %s %s %s/%s", pg.GetAPIVersion(), pg.GetKind(), pg.GetNamespace(), pg.GetName())
	}
	if refs := pg.GetOwnerReferences(); len(refs) != 1 || refs[0].Kind != "PyTorchJob" || refs[0].Controller == nil || !*refs[0].Controller {
		t.Fatalf("owner: %+v", refs)
	}
	if l := pg.GetLabels(); l["training.kubeflow.org/job-name"] != plain.Name || l["training.kubeflow.org/operator-name"] != "pytorchjob-controller" {
		t.Errorf("labels %v, want the job's (an orphan is adopted by them)", l)
	}
	want := map[string]any{"minMember": int64(2), "queue": "default", "minResources": map[string]any{"cpu": "1"}}
	if diff := cmp.Diff(want, pg.Object["spec"]); diff != "" {
		t.Errorf("volcano spec (-want +got):\n%s", diff)
	}

	tuned := ptJob(1, 3, trainingv1.RestartPolicyOnFailure, func(j *trainingv1.PyTorchJob) {
		j.Spec.RunPolicy.SchedulingPolicy = &trainingv1.SchedulingPolicy{
			MinAvailable: ptr.To[int32](3), Queue: "research", PriorityClass: "high",
			MinResources:           ptr.To(map[corev1.ResourceName]resource.Quantity{"cpu": resource.MustParse("8")}),
			ScheduleTimeoutSeconds: ptr.To[int32](120),
		}
	})
	pg, _ = policy.PodGroup(fw, tuned, policy.GangVolcano, none)
	want = map[string]any{"minMember": int64(3), "queue": "research", "priorityClassName": "high", "minResources": map[string]any{"cpu": "8"}}
	if diff := cmp.Diff(want, pg.Object["spec"]); diff != "" {
		t.Errorf("volcano spec from schedulingPolicy (-want +got):\n%s", diff)
	}
	pg, _ = policy.PodGroup(fw, tuned, "scheduler-plugins-scheduler", none)
	want = map[string]any{"minMember": int64(3), "scheduleTimeoutSeconds": int64(120), "minResources": map[string]any{"cpu": "8"}}
	if pg.GetAPIVersion() != "scheduling.x-k8s.io/v1alpha1" {
		t.Errorf("scheduler-plugins apiVersion %s", pg.GetAPIVersion())
	}
	if diff := cmp.Diff(want, pg.Object["spec"]); diff != "" {
		t.Errorf("scheduler-plugins spec (-want +got):\n%s", diff)
	}
}

func TestPodGroupAdmitted(t *testing.T) {
	withPhase := func(phase string) *unstructured.Unstructured {
		pg := &unstructured.Unstructured{Object: map[string]any{}}
		if phase != "" {
			_ = unstructured.SetNestedField(pg.Object, phase, "status", "phase")
		}
		return pg
	}
	for _, tt := range []struct {
		scheduler, phase string
		want             bool
	}{
		{policy.GangVolcano, "", false}, {policy.GangVolcano, "Pending", false},
		{policy.GangVolcano, "Inqueue", true}, {policy.GangVolcano, "Running", true},
		{"scheduler-plugins-scheduler", "", true},
	} {
		if got := policy.PodGroupAdmitted(tt.scheduler, withPhase(tt.phase)); got != tt.want {
			t.Errorf("%s, phase %q: admitted %v, want %v", tt.scheduler, tt.phase, got, tt.want)
		}
	}
}

func TestDecorateGangPod(t *testing.T) {
	p := pod("worker", 0, "pytorch", corev1.PodPending)
	if !policy.DecorateGangPod(p, policy.GangVolcano, "job", "Worker") || p.Spec.SchedulerName != "volcano" ||
		p.Annotations[policy.VolcanoGroupNameAnnotation] != "job" || p.Annotations[policy.VolcanoTaskSpecAnnotation] != "worker" {
		t.Errorf("volcano: scheduler %q, annotations %v", p.Spec.SchedulerName, p.Annotations)
	}
	p = pod("worker", 0, "pytorch", corev1.PodPending)
	p.Spec.SchedulerName = corev1.DefaultSchedulerName
	if !policy.DecorateGangPod(p, "scheduler-plugins-scheduler", "job", "Worker") || p.Spec.SchedulerName != "scheduler-plugins-scheduler" ||
		p.Labels[policy.CoschedulingPodGroupLabel] != "job" {
		t.Errorf("scheduler-plugins: scheduler %q, labels %v", p.Spec.SchedulerName, p.Labels)
	}
	p = pod("worker", 0, "pytorch", corev1.PodPending)
	p.Spec.SchedulerName = "my-scheduler"
	if policy.DecorateGangPod(p, policy.GangVolcano, "job", "Worker") || p.Spec.SchedulerName != "my-scheduler" {
		t.Errorf("a template's own scheduler: kept reported, scheduler %q", p.Spec.SchedulerName)
	}
}
