package v1

// Labels the training operator puts on the pods and services of a job. They are part of the
// API: users, dashboards and tools (Katib's metrics collector, kubectl selectors) find a job's
// pods by them, so their keys and values match the Kubeflow Training Operator v1.9.
const (
	// JobNameLabel holds the name of the job a pod or service belongs to.
	JobNameLabel = "training.kubeflow.org/job-name"
	// ReplicaTypeLabel holds the lowercased replica type, e.g. "worker" or "ps".
	ReplicaTypeLabel = "training.kubeflow.org/replica-type"
	// ReplicaIndexLabel holds the replica index, e.g. "0".
	ReplicaIndexLabel = "training.kubeflow.org/replica-index"
	// JobRoleLabel marks the job's leading replica with the value JobRoleMaster.
	JobRoleLabel = "training.kubeflow.org/job-role"
	// OperatorNameLabel holds the name of the controller that made the object, e.g.
	// "pytorchjob-controller".
	OperatorNameLabel = "training.kubeflow.org/operator-name"

	// JobRoleMaster is the value of JobRoleLabel on the leading replica.
	JobRoleMaster = "master"
)
