//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/builders"
)

// lastCondition returns the job's current state (its last condition) and that condition.
func lastCondition(st *trainingv1.JobStatus) (trainingv1.JobConditionType, trainingv1.JobCondition) {
	if len(st.Conditions) == 0 {
		return "", trainingv1.JobCondition{}
	}
	c := st.Conditions[len(st.Conditions)-1]
	return c.Type, c
}

// waitJob waits until job (re-read into obj) reaches Succeeded or Failed and returns that.
func waitJob(t *testing.T, obj client.Object, status func() *trainingv1.JobStatus, timeout time.Duration) trainingv1.JobCondition {
	t.Helper()
	var last trainingv1.JobCondition
	err := wait.PollUntilContextTimeout(context.Background(), 2*time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err
		}
		typ, c := lastCondition(status())
		last = c
		return typ == trainingv1.JobSucceeded || typ == trainingv1.JobFailed, nil
	})
	if err != nil {
		t.Fatalf("%s did not finish within %s (last condition %+v): %v", obj.GetName(), timeout, last, err)
	}
	return last
}

func podLogs(t *testing.T, ns, name string) string {
	b, err := clientset.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(context.Background())
	if err != nil {
		return fmt.Sprintf("<logs of %s: %v>", name, err)
	}
	return string(b)
}

// gloo all-reduce over the PyTorchJob rendezvous env (MASTER_ADDR/PORT, WORLD_SIZE, RANK).
const pytorchAllReduce = `
import os, torch, torch.distributed as dist
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
print("MASTER", os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"], "rank", rank, "of", world, flush=True)
dist.init_process_group("gloo")
t = torch.tensor([float(rank + 1)])
dist.all_reduce(t)
want = world * (world + 1) / 2
assert t.item() == want, (t.item(), want)
print("ALLREDUCE-OK", t.item(), flush=True)
dist.destroy_process_group()
`

// A PyTorchJob with 1 master and 2 workers runs a gloo all-reduce to Succeeded.
func TestPyTorchJobGlooAllReduce(t *testing.T) {
	ns := testNamespace(t)
	replica := func(n int32) *builders.ReplicaWrapper {
		return builders.MakeReplica(n, "pytorch", pythonML, "python3", "-c", pytorchAllReduce).RestartPolicy(trainingv1.RestartPolicyOnFailure)
	}
	job := builders.MakePyTorchJob("allreduce", ns).Replica("Master", replica(1)).Replica("Worker", replica(2)).Obj()
	if err := k8sClient.Create(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	c := waitJob(t, job, func() *trainingv1.JobStatus { return &job.Status }, 5*time.Minute)
	if c.Type != trainingv1.JobSucceeded {
		t.Fatalf("job %s: %s %s\nmaster logs:\n%s", c.Type, c.Reason, c.Message, podLogs(t, ns, "allreduce-master-0"))
	}
	for _, p := range []string{"allreduce-master-0", "allreduce-worker-0", "allreduce-worker-1"} {
		if logs := podLogs(t, ns, p); !strings.Contains(logs, "ALLREDUCE-OK 6.0") {
			t.Errorf("%s did not all-reduce to 6:\n%s", p, logs)
		}
	}
	if rs := job.Status.ReplicaStatuses["Worker"]; rs == nil || rs.Succeeded != 2 {
		t.Errorf("worker replica status: %+v", rs)
	}
	if job.Status.CompletionTime == nil || job.Status.StartTime == nil {
		t.Errorf("start/completion time not set: %+v", job.Status)
	}
}

// TF_CONFIG check + message exchange over the per-replica service DNS: the PS serves on
// its tfjob-port, each worker validates TF_CONFIG, sends its task index and waits for the
// echo; the PS exits after hearing from every worker.
const tfProgram = `
import json, os, socket, sys
cfg = json.loads(os.environ["TF_CONFIG"])
cluster, task = cfg["cluster"], cfg["task"]
assert len(cluster["ps"]) == 1 and len(cluster["worker"]) == 2, cluster
assert cfg.get("environment") == "cloud", cfg
me = cluster[task["type"]][task["index"]]
print("TF_CONFIG ok:", task, me, flush=True)
if task["type"] == "ps":
    port = int(me.rsplit(":", 1)[1])
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(4)
    seen = set()
    while len(seen) < len(cluster["worker"]):
        c, _ = s.accept(); msg = c.recv(64).decode(); c.sendall(("ack " + msg).encode()); c.close()
        seen.add(msg); print("PS got", msg, flush=True)
    print("PS-DONE", sorted(seen), flush=True)
else:
    import time
    host, port = cluster["ps"][0].rsplit(":", 1)
    for i in range(120):
        try:
            c = socket.create_connection((host, int(port)), timeout=5); break
        except OSError:
            time.sleep(1)
    else:
        sys.exit("PS unreachable at " + cluster["ps"][0])
    c.sendall(("worker-%d" % task["index"]).encode())
    reply = c.recv(64).decode()
    assert reply == "ack worker-%d" % task["index"], reply
    print("WORKER-OK", reply, flush=True)
`

// A TFJob like the seed (1 PS + 2 workers): TF_CONFIG is valid in every process and the
// workers reach the PS through its service DNS name.
func TestTFJobConfigAndServiceDNS(t *testing.T) {
	ns := testNamespace(t)
	replica := func(n int32) *builders.ReplicaWrapper {
		return builders.MakeReplica(n, "tensorflow", pythonML, "python3", "-c", tfProgram).RestartPolicy(trainingv1.RestartPolicyOnFailure)
	}
	job := builders.MakeTFJob("tfdns", ns).Replica("PS", replica(1)).Replica("Worker", replica(2)).Obj()
	if err := k8sClient.Create(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	c := waitJob(t, job, func() *trainingv1.JobStatus { return &job.Status }, 5*time.Minute)
	if c.Type != trainingv1.JobSucceeded {
		t.Fatalf("job %s: %s %s\nworker-0 logs:\n%s", c.Type, c.Reason, c.Message, podLogs(t, ns, "tfdns-worker-0"))
	}
	for _, w := range []string{"tfdns-worker-0", "tfdns-worker-1"} {
		if logs := podLogs(t, ns, w); !strings.Contains(logs, "WORKER-OK ack "+strings.TrimPrefix(w, "tfdns-")) {
			t.Errorf("%s:\n%s", w, logs)
		}
	}
}

// Under restartPolicy ExitCode a worker's exit 137 is retried (a new pod, job Restarting
// on the way) and the job succeeds; exit 1 fails the job.
func TestExitCodeRestartPolicy(t *testing.T) {
	ns := testNamespace(t)
	marker := "/tmp/kfup-e2e-" + ns
	// the first pod leaves a marker on the node (hostPath) and dies with 137; its
	// replacement finds the marker and succeeds
	retryOnce := fmt.Sprintf("if [ -e %s/done ]; then echo second try; exit 0; fi; mkdir -p %s && touch %s/done; echo first try; exit 137", marker, marker, marker)
	retried := builders.MakePyTorchJob("retried", ns).
		Replica("Worker", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "sh", "-c", retryOnce).RestartPolicy(trainingv1.RestartPolicyExitCode)).
		BackoffLimit(3).Obj()
	spec := &retried.Spec.PyTorchReplicaSpecs["Worker"].Template.Spec
	spec.Volumes = []corev1.Volume{{Name: "marker", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}}}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "marker", MountPath: "/tmp"}}
	failed := builders.MakePyTorchJob("permanent", ns).
		Replica("Worker", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "sh", "-c", "echo bad input; exit 1").RestartPolicy(trainingv1.RestartPolicyExitCode)).
		BackoffLimit(3).Obj()
	for _, j := range []*trainingv1.PyTorchJob{retried, failed} {
		if err := k8sClient.Create(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}
	if c := waitJob(t, retried, func() *trainingv1.JobStatus { return &retried.Status }, 3*time.Minute); c.Type != trainingv1.JobSucceeded {
		t.Errorf("exit 137 then 0: job %s (%s: %s)", c.Type, c.Reason, c.Message)
	}
	// the Restarting condition is replaced once the job runs again (as upstream does);
	// its event and the exit-code event stay
	evs, err := clientset.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=retried"})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, e := range evs.Items {
		reasons[e.Reason] = true
	}
	if !reasons["PyTorchJobRestarting"] || !reasons["ExitedWithCode"] {
		t.Errorf("retried job: want PyTorchJobRestarting and ExitedWithCode events, got %v", reasons)
	}
	if c := waitJob(t, failed, func() *trainingv1.JobStatus { return &failed.Status }, 3*time.Minute); c.Type != trainingv1.JobFailed {
		t.Errorf("exit 1 under ExitCode: job %s, want Failed", c.Type)
	}
	pods, _ := clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "training.kubeflow.org/job-name=permanent"})
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount > 0 {
				t.Errorf("permanent failure was restarted: %s restarts %d", p.Name, cs.RestartCount)
			}
		}
	}
}

// mpi4py all-reduce over the MPIJob's workers: mpirun reaches the workers through
// kubexec.sh and kfup's exec client (no ssh, no kubectl image).
const mpiAllReduce = `
from mpi4py import MPI
comm = MPI.COMM_WORLD
total = comm.allreduce(comm.Get_rank() + 1, op=MPI.SUM)
assert total == comm.Get_size() * (comm.Get_size() + 1) // 2, total
print("MPI-OK rank", comm.Get_rank(), "of", comm.Get_size(), "sum", total, flush=True)
`

// An MPIJob runs an mpi4py program over 2 workers to Succeeded.
func TestMPIJobMPI4PyAllReduce(t *testing.T) {
	ns := testNamespace(t)
	running := trainingv1.CleanPodPolicyRunning
	job := &trainingv1.MPIJob{
		ObjectMeta: metav1.ObjectMeta{Name: "mpi", Namespace: ns},
		Spec: trainingv1.MPIJobSpec{
			RunPolicy: trainingv1.RunPolicy{CleanPodPolicy: &running},
			MPIReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{
				"Launcher": builders.MakeReplica(1, "mpi", pythonML, "mpirun", "-np", "2", "--allow-run-as-root",
					"-mca", "btl", "tcp,self", "-mca", "oob_tcp_if_include", "eth0", "-mca", "btl_tcp_if_include", "eth0",
					"python3", "-c", mpiAllReduce).Obj(),
				"Worker": builders.MakeReplica(2, "mpi", pythonML).Obj(),
			},
		},
	}
	if err := k8sClient.Create(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	c := waitJob(t, job, func() *trainingv1.JobStatus { return &job.Status }, 5*time.Minute)
	logs := podLogs(t, ns, "mpi-launcher")
	if c.Type != trainingv1.JobSucceeded {
		t.Fatalf("job %s: %s %s\nlauncher logs:\n%s", c.Type, c.Reason, c.Message, logs)
	}
	if strings.Count(logs, "MPI-OK") != 2 || !strings.Contains(logs, "sum 3") {
		t.Fatalf("launcher logs:\n%s", logs)
	}
	// No cleanPodPolicy: kfup's MPIJob default (Running) stops the workers, which would
	// otherwise keep waiting for the launcher's exec; the launcher's pod stays.
	var left []string
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		if err := k8sClient.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return false, nil
		}
		left = nil
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				left = append(left, p.Name)
			}
		}
		return slices.Equal(left, []string{"mpi-launcher"}), nil
	})
	if err != nil {
		t.Fatalf("pods after success: %v, want only mpi-launcher (the workers deleted)", left)
	}
}

// Distributed XGBoost over the XGBoostJob env: the master (rank 0) runs the Rabit tracker on
// MASTER_PORT, every replica joins it and trains on its shard of a dataset that ships with
// scikit-learn; the shared model must be good on the whole set.
const xgboostTrain = `
import os, xgboost as xgb
from sklearn.datasets import load_breast_cancer
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
master, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
print("rank", rank, "of", world, "tracker", master, port, "workers", os.environ.get("WORKER_ADDRS"), flush=True)
tracker = None
if rank == 0:
    from xgboost.tracker import RabitTracker
    tracker = RabitTracker(host_ip="0.0.0.0", n_workers=world, port=port)
    tracker.start(world)
with xgb.collective.CommunicatorContext(DMLC_TRACKER_URI=master, DMLC_TRACKER_PORT=port, DMLC_TASK_ID=str(rank)):
    X, y = load_breast_cancer(return_X_y=True)
    d = xgb.DMatrix(X[rank::world], label=y[rank::world])
    bst = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": 3}, d, num_boost_round=20)
    acc = float(((bst.predict(xgb.DMatrix(X)) > 0.5) == y).mean())
    n = xgb.collective.get_world_size()
    print("XGB-OK rank", rank, "world", n, "accuracy %.3f" % acc, flush=True)
    assert n == world and acc > 0.9, (n, acc)
if tracker is not None:
    tracker.join()
`

// An XGBoostJob (1 master + 1 worker) trains a distributed model to Succeeded.
func TestXGBoostJobDistributedTraining(t *testing.T) {
	ns := testNamespace(t)
	replica := func(n int32) *trainingv1.ReplicaSpec {
		return builders.MakeReplica(n, "xgboost", pythonML, "python3", "-c", xgboostTrain).RestartPolicy(trainingv1.RestartPolicyOnFailure).Obj()
	}
	job := &trainingv1.XGBoostJob{
		ObjectMeta: metav1.ObjectMeta{Name: "xgb", Namespace: ns},
		Spec: trainingv1.XGBoostJobSpec{XGBReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{
			"Master": replica(1), "Worker": replica(1),
		}},
	}
	if err := k8sClient.Create(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	c := waitJob(t, job, func() *trainingv1.JobStatus { return &job.Status }, 5*time.Minute)
	master := podLogs(t, ns, "xgb-master-0")
	if c.Type != trainingv1.JobSucceeded {
		t.Fatalf("job %s: %s %s\nmaster logs:\n%s\nworker logs:\n%s", c.Type, c.Reason, c.Message, master, podLogs(t, ns, "xgb-worker-0"))
	}
	if !strings.Contains(master, "XGB-OK rank 0 world 2") {
		t.Fatalf("master logs:\n%s", master)
	}
}

// A job whose image cannot be pulled (no registry is reachable, and the image is on no
// node) fails once the manager's stuck-pod grace (1 minute by default) has run out, with
// the kubelet's waiting reason as the condition reason and the pod and container named in
// its message — not Created or Running forever.
func TestUnpullableImageFailsJob(t *testing.T) {
	ns := testNamespace(t)
	job := builders.MakePyTorchJob("badimage", ns).
		Replica("Master", builders.MakeReplica(1, "pytorch", "kfup-offline/no-such-image:never", "python3", "-c", "pass").
			RestartPolicy(trainingv1.RestartPolicyOnFailure)).Obj()
	if err := k8sClient.Create(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	c := waitJob(t, job, func() *trainingv1.JobStatus { return &job.Status }, 4*time.Minute)
	if c.Type != trainingv1.JobFailed || (c.Reason != "ErrImagePull" && c.Reason != "ImagePullBackOff") {
		t.Fatalf("job %s (%s: %s), want Failed with reason ErrImagePull or ImagePullBackOff", c.Type, c.Reason, c.Message)
	}
	want := "PyTorchJob badimage is failed because pod badimage-master-0 cannot start: container pytorch: " + c.Reason
	if !strings.HasPrefix(c.Message, want) || !strings.Contains(c.Message, "no-such-image") {
		t.Errorf("condition message %q, want it to start with %q and name the image", c.Message, want)
	}
}

// components.training.namespaces on kind (with the tuning, serving, pipelines and
// ingress namespaces the same: the
// manager's RBAC is the union of its slices', cluster-wide as soon as one serves every
// namespace): kfup creates the namespace, binds the manager's RBAC only there (no
// cluster-wide binding) and restarts the manager with --namespace; a job there runs to
// Succeeded on that RBAC, a job elsewhere is left alone. Creating again without the
// setting moves the binding back to cluster-wide and leaves the namespace.
func TestTrainingRestrictedToNamespace(t *testing.T) {
	ctx := context.Background()
	const team = "e2e-team"
	other := testNamespace(t)
	t.Cleanup(func() {
		if r := kfup(ctx, "create", "--name", clusterName, "--wait", "5m", "--profile", "minimal"); r.code != 0 {
			t.Errorf("restoring the minimal profile: exit %d\n%s", r.code, r.stderr)
		}
		_ = clientset.CoreV1().Namespaces().Delete(ctx, team, metav1.DeleteOptions{})
	})
	r := mustKfup(t, "create", "--name", clusterName, "--wait", "5m", "--set", "components.training.namespaces="+team,
		"--set", "components.tuning.namespaces="+team, "--set", "components.serving.namespaces="+team,
		"--set", "components.pipelines.namespaces="+team, "--set", "components.ingress.namespaces="+team)
	t.Logf("kfup create with namespaces=%s (%s)", team, r.elapsed.Round(time.Second))

	if _, err := clientset.RbacV1().RoleBindings(team).Get(ctx, "kfup-manager-jobs", metav1.GetOptions{}); err != nil {
		t.Fatalf("RoleBinding in %s: %v", team, err)
	}
	// the previous manager (every namespace) must be gone before the jobs exist
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := clientset.CoreV1().Pods("kfup-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=kfup-manager"})
		if err != nil {
			return false, err
		}
		return len(pods.Items) == 1 && pods.Items[0].DeletionTimestamp == nil, nil
	})
	if err != nil {
		t.Fatalf("the previous manager pod did not go: %v", err)
	}
	if _, err := clientset.RbacV1().ClusterRoleBindings().Get(ctx, "kfup-manager", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the cluster-wide binding is still there: %v", err)
	}
	busybox := func(name, ns string) *trainingv1.PyTorchJob {
		return builders.MakePyTorchJob(name, ns).
			Replica("Master", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "sh", "-c", "echo trained").
				RestartPolicy(trainingv1.RestartPolicyOnFailure)).Obj()
	}
	mine, elsewhere := busybox("mine", team), busybox("elsewhere", other)
	for _, j := range []*trainingv1.PyTorchJob{mine, elsewhere} {
		if err := k8sClient.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if c := waitJob(t, mine, func() *trainingv1.JobStatus { return &mine.Status }, 3*time.Minute); c.Type != trainingv1.JobSucceeded {
		t.Fatalf("job in %s: %s (%s: %s)", team, c.Type, c.Reason, c.Message)
	}
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(elsewhere), elsewhere); err != nil {
		t.Fatal(err)
	}
	pods, _ := clientset.CoreV1().Pods(other).List(ctx, metav1.ListOptions{LabelSelector: "training.kubeflow.org/job-name=elsewhere"})
	if len(elsewhere.Status.Conditions) > 0 || len(pods.Items) > 0 {
		t.Fatalf("a job outside %s was reconciled: conditions %+v, %d pods", team, elsewhere.Status.Conditions, len(pods.Items))
	}

	mustKfup(t, "create", "--name", clusterName, "--wait", "5m", "--profile", "minimal")
	if _, err := clientset.RbacV1().ClusterRoleBindings().Get(ctx, "kfup-manager", metav1.GetOptions{}); err != nil {
		t.Errorf("cluster-wide binding after clearing namespaces: %v", err)
	}
	if _, err := clientset.RbacV1().RoleBindings(team).Get(ctx, "kfup-manager-jobs", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("RoleBinding in %s left after clearing namespaces: %v", team, err)
	}
	if _, err := clientset.CoreV1().Namespaces().Get(ctx, team, metav1.GetOptions{}); err != nil {
		t.Errorf("namespace %s, holding the user's jobs, was deleted: %v", team, err)
	}
	// the job elsewhere now runs
	if c := waitJob(t, elsewhere, func() *trainingv1.JobStatus { return &elsewhere.Status }, 3*time.Minute); c.Type != trainingv1.JobSucceeded {
		t.Errorf("job in %s after clearing namespaces: %s (%s: %s)", other, c.Type, c.Reason, c.Message)
	}
}
