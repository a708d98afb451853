package v1alpha1

// The artifact store's names, shared by the install component and the controllers.
const (
	// ArtifactPort is where the manager serves the pvc artifact store to task pods.
	ArtifactPort = 8890
	// ArtifactService is the Service in the manager's namespace fronting it.
	ArtifactService = "kfup-artifacts"
	// ArtifactClaim is the PersistentVolumeClaim, in the manager's namespace, holding it.
	ArtifactClaim = "kfup-artifacts"
	// ArtifactRoot is where the manager mounts the claim.
	ArtifactRoot = "/var/lib/kfup/artifacts"
	// S3Secret is the Secret whose keys (KFUP_ARTIFACT_S3_BUCKET, AWS_ACCESS_KEY_ID, ...)
	// configure the s3 artifact store: in the manager's namespace for the manager, and in
	// each run's namespace for its task pods (credentials never appear in a pod spec).
	S3Secret = "kfup-artifact-s3"
)

// Labels and annotations on task pods (the controller writes them; the CLI and tools read
// them).
const (
	// LabelRun names the pod's PipelineRun.
	LabelRun = "pipelines.kfup.dev/run"
	// LabelTask is the pod's task name (its last DAG name, cut to a label value).
	LabelTask = "pipelines.kfup.dev/task"
	// LabelAttempt is the attempt the pod runs (1 for the first).
	LabelAttempt = "pipelines.kfup.dev/attempt"
	// AnnotationTaskID is the pod's task ID in the run.
	AnnotationTaskID = "pipelines.kfup.dev/task-id"
	// AnnotationTaskKey is the artifact store prefix the pod may write under.
	AnnotationTaskKey = "pipelines.kfup.dev/artifact-key"
	// MainContainer is the task pod's container running the component.
	MainContainer = "main"
)

// The admission webhooks' paths on the manager, shared by the install component (which
// configures the API server to call them) and the controllers (which serve them).
const (
	WebhookPathRun          = "/validate-pipelines-pipelinerun"
	WebhookPathRecurringRun = "/validate-pipelines-recurringrun"
	WebhookPathVersion      = "/validate-pipelines-pipelineversion"
)

// The artifact store's keys of a run, shared by the controller (which gives each task
// pod its prefix), the launcher and the readers (CLI, dashboard).
const (
	// TaskLogFile is the last segment of the key a task's log is kept under, in its
	// task's prefix: its last attempt's output (kfup agent launch keeps it), readable
	// once the pod is gone.
	TaskLogFile = ".kfup-log.txt"
	// MaxTaskLogBytes bounds a kept task log: its last bytes, after one line saying how
	// much came before them.
	MaxTaskLogBytes = 1 << 20
)

// RunKey is the store prefix of one run's artifacts: namespace, then the run's name and
// the start of its UID (a run deleted and created again under its name does not see the
// old one's files).
func RunKey(r *PipelineRun) string {
	uid := string(r.UID)
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return r.Namespace + "/" + r.Name + "-" + uid
}

// TaskKey is the store prefix of one task's outputs (and its kept log).
func TaskKey(r *PipelineRun, taskID string) string { return RunKey(r) + "/" + taskID }
