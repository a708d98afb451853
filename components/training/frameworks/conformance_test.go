package frameworks_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks"
	conf "github.com/kfup/kfup/internal/conformance"
)

var ev = func(n, v string) corev1.EnvVar { return corev1.EnvVar{Name: n, Value: v} }

// conformance says what each upstream example (and the seed TFJob) must yield: its pods
// and services by name, and the environment of some of its pods' framework container.
type conformance struct {
	file      string
	name      string // for generateName-only jobs: the name the API server would pick
	namespace string // for jobs without one: the namespace they are applied in
	pods      []string
	services  []string
	extras    []string // Kind/name
	env       map[string][]corev1.EnvVar
	masters   []string
}

func tfConfig(v string) []corev1.EnvVar { return []corev1.EnvVar{ev("TF_CONFIG", v)} }

var cases = []conformance{
	{
		file:     "training/jax_cpu-demo_demo.yaml",
		pods:     []string{"jaxjob-simple-worker-0", "jaxjob-simple-worker-1"},
		services: []string{"jaxjob-simple-worker-0", "jaxjob-simple-worker-1"},
		env: map[string][]corev1.EnvVar{"jaxjob-simple-worker-1": {
			ev("PYTHONUNBUFFERED", "1"), ev("COORDINATOR_PORT", "6666"), ev("COORDINATOR_ADDRESS", "jaxjob-simple-worker-0"),
			ev("NUM_PROCESSES", "2"), ev("PROCESS_ID", "1"),
		}},
		masters: []string{"jaxjob-simple-worker-0"},
	},
	{
		file: "training/mpi_tensorflow-mnist.yaml", namespace: "default",
		pods:   []string{"tensorflow-mnist-launcher", "tensorflow-mnist-worker-0", "tensorflow-mnist-worker-1"},
		extras: []string{"ConfigMap/tensorflow-mnist-config", "ServiceAccount/tensorflow-mnist-launcher", "Role/tensorflow-mnist-launcher", "RoleBinding/tensorflow-mnist-launcher"},
		env: map[string][]corev1.EnvVar{
			"tensorflow-mnist-launcher": {
				ev("OMPI_MCA_plm_rsh_agent", "/etc/mpi/kubexec.sh"), ev("OMPI_MCA_orte_default_hostfile", "/etc/mpi/hostfile"),
				ev("NVIDIA_VISIBLE_DEVICES", ""), ev("NVIDIA_DRIVER_CAPABILITIES", ""),
				ev("I_MPI_HYDRA_BOOTSTRAP", "rsh"), ev("I_MPI_HYDRA_BOOTSTRAP_EXEC", "/etc/mpi/kubexec.sh"),
			},
			"tensorflow-mnist-worker-0": nil,
		},
		masters: []string{"tensorflow-mnist-launcher"},
	},
	{
		file:     "training/paddlepaddle_simple-cpu.yaml",
		pods:     []string{"paddle-simple-cpu-worker-0", "paddle-simple-cpu-worker-1"},
		services: []string{"paddle-simple-cpu-worker-0", "paddle-simple-cpu-worker-1"},
		env: map[string][]corev1.EnvVar{
			"paddle-simple-cpu-worker-0": {
				ev("PYTHONUNBUFFERED", "1"), ev("PADDLE_JOB_ID", "paddle-simple-cpu"), ev("PADDLE_NNODES", "2"),
				{Name: "POD_IP_DUMMY", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				ev("PADDLE_MASTER", "$(POD_IP_DUMMY):37777"),
			},
			"paddle-simple-cpu-worker-1": {
				ev("PYTHONUNBUFFERED", "1"), ev("PADDLE_JOB_ID", "paddle-simple-cpu"), ev("PADDLE_NNODES", "2"),
				ev("PADDLE_MASTER", "paddle-simple-cpu-worker-0:37777"),
			},
		},
	},
	{
		file: "training/pytorch_elastic_echo_echo.yaml", namespace: "default",
		pods:     []string{"elastic-example-echo-worker-0", "elastic-example-echo-worker-1"},
		services: []string{"elastic-example-echo-worker-0", "elastic-example-echo-worker-1"},
		env: map[string][]corev1.EnvVar{"elastic-example-echo-worker-1": {
			ev("LOGLEVEL", "DEBUG"), ev("PYTHONUNBUFFERED", "1"), ev("PET_NPROC_PER_NODE", "auto"),
			ev("PET_RDZV_ENDPOINT", "elastic-example-echo-worker-0:23456"), ev("PET_RDZV_BACKEND", "c10d"),
			ev("PET_NNODES", "1:2"), ev("PET_MAX_RESTARTS", "100"),
		}},
		masters: []string{"elastic-example-echo-worker-0"},
	},
	{
		file: "training/pytorch_mnist_v1_pytorch_job_mnist_gloo.yaml", namespace: "default",
		pods:     []string{"pytorch-dist-mnist-gloo-master-0", "pytorch-dist-mnist-gloo-worker-0"},
		services: []string{"pytorch-dist-mnist-gloo-master-0", "pytorch-dist-mnist-gloo-worker-0"},
		env: map[string][]corev1.EnvVar{
			"pytorch-dist-mnist-gloo-master-0": {
				ev("PYTHONUNBUFFERED", "1"), ev("MASTER_PORT", "23456"), ev("PET_MASTER_PORT", "23456"),
				ev("MASTER_ADDR", "pytorch-dist-mnist-gloo-master-0"), ev("PET_MASTER_ADDR", "pytorch-dist-mnist-gloo-master-0"),
				ev("WORLD_SIZE", "2"), ev("RANK", "0"), ev("PET_NODE_RANK", "0"), ev("PET_NPROC_PER_NODE", "auto"), ev("PET_NNODES", "2"),
			},
			"pytorch-dist-mnist-gloo-worker-0": {
				ev("PYTHONUNBUFFERED", "1"), ev("MASTER_PORT", "23456"), ev("PET_MASTER_PORT", "23456"),
				ev("MASTER_ADDR", "pytorch-dist-mnist-gloo-master-0"), ev("PET_MASTER_ADDR", "pytorch-dist-mnist-gloo-master-0"),
				ev("WORLD_SIZE", "2"), ev("RANK", "1"), ev("PET_NODE_RANK", "1"), ev("PET_NPROC_PER_NODE", "auto"), ev("PET_NNODES", "2"),
			},
		},
		masters: []string{"pytorch-dist-mnist-gloo-master-0"},
	},
	{
		file:     "training/pytorch_simple.yaml",
		pods:     []string{"pytorch-simple-master-0", "pytorch-simple-worker-0"},
		services: []string{"pytorch-simple-master-0", "pytorch-simple-worker-0"},
		env: map[string][]corev1.EnvVar{"pytorch-simple-worker-0": {
			ev("PYTHONUNBUFFERED", "1"), ev("MASTER_PORT", "23456"), ev("PET_MASTER_PORT", "23456"),
			ev("MASTER_ADDR", "pytorch-simple-master-0"), ev("PET_MASTER_ADDR", "pytorch-simple-master-0"),
			ev("WORLD_SIZE", "2"), ev("RANK", "1"), ev("PET_NODE_RANK", "1"), ev("PET_NPROC_PER_NODE", "auto"), ev("PET_NNODES", "2"),
		}},
		masters: []string{"pytorch-simple-master-0"},
	},
	{
		file: "training/tensorflow_dist-mnist_tf_job_mnist.yaml", namespace: "default",
		pods: []string{"dist-mnist-for-e2e-test-chief-0", "dist-mnist-for-e2e-test-ps-0", "dist-mnist-for-e2e-test-worker-0", "dist-mnist-for-e2e-test-worker-1"},
		services: []string{"dist-mnist-for-e2e-test-chief-0", "dist-mnist-for-e2e-test-ps-0", "dist-mnist-for-e2e-test-worker-0",
			"dist-mnist-for-e2e-test-worker-1"},
		env: map[string][]corev1.EnvVar{"dist-mnist-for-e2e-test-worker-1": tfConfig(
			`{"cluster":{"chief":["dist-mnist-for-e2e-test-chief-0.default.svc:2222"],"ps":["dist-mnist-for-e2e-test-ps-0.default.svc:2222"],` +
				`"worker":["dist-mnist-for-e2e-test-worker-0.default.svc:2222","dist-mnist-for-e2e-test-worker-1.default.svc:2222"]},` +
				`"task":{"type":"worker","index":1},"environment":"cloud"}`)},
		masters: []string{"dist-mnist-for-e2e-test-chief-0"},
	},
	{
		file:     "training/tensorflow_simple.yaml",
		pods:     []string{"tfjob-simple-worker-0", "tfjob-simple-worker-1"},
		services: []string{"tfjob-simple-worker-0", "tfjob-simple-worker-1"},
		env: map[string][]corev1.EnvVar{"tfjob-simple-worker-0": tfConfig(
			`{"cluster":{"worker":["tfjob-simple-worker-0.kubeflow.svc:2222","tfjob-simple-worker-1.kubeflow.svc:2222"]},` +
				`"task":{"type":"worker","index":0},"environment":"cloud"}`)},
		masters: []string{"tfjob-simple-worker-0"},
	},
	{
		file: "training/xgboost_xgboostjob.yaml", namespace: "default",
		pods:     []string{"xgboost-dist-iris-test-train-master-0", "xgboost-dist-iris-test-train-worker-0", "xgboost-dist-iris-test-train-worker-1"},
		services: []string{"xgboost-dist-iris-test-train-master-0", "xgboost-dist-iris-test-train-worker-0", "xgboost-dist-iris-test-train-worker-1"},
		env: map[string][]corev1.EnvVar{
			"xgboost-dist-iris-test-train-master-0": {
				ev("MASTER_PORT", "9991"), ev("MASTER_ADDR", "xgboost-dist-iris-test-train-master-0"), ev("WORLD_SIZE", "3"),
				ev("RANK", "0"), ev("PYTHONUNBUFFERED", "1"), ev("WORKER_PORT", "9991"),
				ev("WORKER_ADDRS", "xgboost-dist-iris-test-train-worker-0,xgboost-dist-iris-test-train-worker-1"),
			},
			"xgboost-dist-iris-test-train-worker-1": {
				ev("MASTER_PORT", "9991"), ev("MASTER_ADDR", "xgboost-dist-iris-test-train-master-0"), ev("WORLD_SIZE", "3"),
				ev("RANK", "2"), ev("PYTHONUNBUFFERED", "1"), ev("WORKER_PORT", "9991"),
				ev("WORKER_ADDRS", "xgboost-dist-iris-test-train-worker-0,xgboost-dist-iris-test-train-worker-1"),
			},
		},
		masters: []string{"xgboost-dist-iris-test-train-master-0"},
	},
	{
		file: "seed/tfjob.yaml", name: "tfjob7xq2p",
		pods:     []string{"tfjob7xq2p-ps-0", "tfjob7xq2p-worker-0", "tfjob7xq2p-worker-1", "tfjob7xq2p-worker-2"},
		services: []string{"tfjob7xq2p-ps-0", "tfjob7xq2p-worker-0", "tfjob7xq2p-worker-1", "tfjob7xq2p-worker-2"},
		env: map[string][]corev1.EnvVar{"tfjob7xq2p-worker-2": tfConfig(
			`{"cluster":{"ps":["tfjob7xq2p-ps-0.your-user-namespace.svc:2222"],"worker":["tfjob7xq2p-worker-0.your-user-namespace.svc:2222",` +
				`"tfjob7xq2p-worker-1.your-user-namespace.svc:2222","tfjob7xq2p-worker-2.your-user-namespace.svc:2222"]},` +
				`"task":{"type":"worker","index":2},"environment":"cloud"}`)},
		masters: []string{"tfjob7xq2p-worker-0"},
	},
}

// Every upstream example and the seed TFJob decode strictly into kfup's types and yield the
// pods, services and environment the Training Operator v1.9 would create for them.
func TestConformanceExamples(t *testing.T) {
	dir := conf.Dir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "training", "*.yaml"))
	for _, f := range files {
		rel := "training/" + filepath.Base(f)
		if !slices.ContainsFunc(cases, func(c conformance) bool { return c.file == rel }) {
			t.Errorf("%s has no expectations here: add a case", rel)
		}
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(b, &tm); err != nil {
				t.Fatal(err)
			}
			if tm.APIVersion != "kubeflow.org/v1" {
				t.Fatalf("apiVersion %q", tm.APIVersion)
			}
			fw, ok := frameworks.ForKind(frameworks.Config{}, tm.Kind)
			if !ok {
				t.Fatalf("no framework for kind %q", tm.Kind)
			}
			job := fw.NewJob()
			if err := yaml.UnmarshalStrict(b, job); err != nil {
				t.Fatalf("strict decode into %T: %v", job, err)
			}
			if tc.name != "" {
				job.SetName(tc.name)
			}
			if job.GetNamespace() == "" {
				job.SetNamespace(tc.namespace)
			}
			job.SetUID(types.UID("uid-" + job.GetName()))

			c, err := engine.Desired(fw, job, nil)
			if err != nil {
				t.Fatal(err)
			}
			names := func(objs []engine.Object) []string {
				var out []string
				for _, o := range objs {
					out = append(out, o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName())
				}
				return out
			}
			var pods, svcs []string
			for _, p := range c.Pods {
				pods = append(pods, p.Name)
			}
			for _, s := range c.Services {
				svcs = append(svcs, s.Name)
			}
			if diff := cmp.Diff(tc.pods, pods); diff != "" {
				t.Errorf("pods (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.services, svcs); diff != "" {
				t.Errorf("services (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.extras, names(c.Extras)); diff != "" {
				t.Errorf("extras (-want +got):\n%s", diff)
			}

			var masters []string
			for _, p := range c.Pods {
				if want, ok := tc.env[p.Name]; ok {
					if diff := cmp.Diff(want, frameworkEnv(p, fw)); diff != "" {
						t.Errorf("%s env (-want +got):\n%s", p.Name, diff)
					}
				}
				if p.Labels[trainingv1.JobRoleLabel] == "master" {
					masters = append(masters, p.Name)
				}
				checkCommon(t, fw, job, p)
			}
			if diff := cmp.Diff(tc.masters, masters); diff != "" {
				t.Errorf("job-role=master (-want +got):\n%s", diff)
			}
			for p := range tc.env {
				if !slices.Contains(pods, p) {
					t.Errorf("expectations for %s, which is not desired", p)
				}
			}

			// Each service selects exactly the pod of its name, in the job's namespace.
			for _, s := range c.Services {
				sel := labels.SelectorFromSet(s.Spec.Selector)
				for _, p := range c.Pods {
					if got := sel.Matches(labels.Set(p.Labels)); got != (p.Name == s.Name) {
						t.Errorf("service %s selects pod %s: %v", s.Name, p.Name, got)
					}
				}
				if s.Spec.ClusterIP != corev1.ClusterIPNone || s.Namespace != job.GetNamespace() || len(s.Spec.Ports) == 0 {
					t.Errorf("service %s: clusterIP %q, namespace %q, ports %v", s.Name, s.Spec.ClusterIP, s.Namespace, s.Spec.Ports)
				}
			}
		})
	}
}

// frameworkEnv is the environment of the pod's framework container (MPI: the first one).
func frameworkEnv(p *corev1.Pod, fw engine.Framework) []corev1.EnvVar {
	for _, c := range p.Spec.Containers {
		if c.Name == fw.DefaultContainerName() {
			return c.Env
		}
	}
	return nil
}

func checkCommon(t *testing.T, fw engine.Framework, job engine.Job, p *corev1.Pod) {
	t.Helper()
	if p.Namespace != job.GetNamespace() || p.Namespace == "" {
		t.Errorf("%s: namespace %q, job's %q", p.Name, p.Namespace, job.GetNamespace())
	}
	if p.Labels[trainingv1.JobNameLabel] != job.GetName() || p.Labels[trainingv1.OperatorNameLabel] != fw.ControllerName() ||
		p.Labels[trainingv1.ReplicaTypeLabel] == "" || strings.ToLower(p.Labels[trainingv1.ReplicaTypeLabel]) != p.Labels[trainingv1.ReplicaTypeLabel] {
		t.Errorf("%s: labels %v", p.Name, p.Labels)
	}
	if p.Annotations["sidecar.istio.io/inject"] != "false" {
		t.Errorf("%s: annotations %v", p.Name, p.Annotations)
	}
	if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].UID != job.GetUID() || !*p.OwnerReferences[0].Controller {
		t.Errorf("%s: owner references %v", p.Name, p.OwnerReferences)
	}
	if p.Spec.RestartPolicy == "" {
		t.Errorf("%s: no restart policy", p.Name)
	}
}

func TestForKind(t *testing.T) {
	kinds := map[string]bool{}
	for _, fw := range frameworks.All(frameworks.Config{}) {
		kinds[fw.Kind()] = true
		if got, ok := frameworks.ForKind(frameworks.Config{}, fw.Kind()); !ok || got.Kind() != fw.Kind() {
			t.Errorf("ForKind(%s) = %v, %v", fw.Kind(), got, ok)
		}
		if reflectKind := fw.NewJob(); reflectKind == nil {
			t.Errorf("%s: NewJob nil", fw.Kind())
		}
	}
	want := map[string]bool{"TFJob": true, "PyTorchJob": true, "MPIJob": true, "XGBoostJob": true, "JAXJob": true, "PaddleJob": true}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	if _, ok := frameworks.ForKind(frameworks.Config{}, "Experiment"); ok {
		t.Errorf("ForKind(Experiment) found a framework")
	}
}
