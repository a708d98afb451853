package v1beta1

// Katib's DBManager gRPC API (api.v1.beta1.DBManager), which the Push collector's trial
// code calls (katib.report_metrics in Katib's SDK): kfup's manager serves it, and the
// tuning install gives it Katib's address.
const (
	// DBManagerPort is the API's port: Katib's db-manager's, which the SDK dials.
	DBManagerPort = 6789
	// DBManagerService names the Service of the API: Katib's, so that the SDK's default
	// address katib-db-manager.kubeflow:6789 reaches kfup's manager.
	DBManagerService = "katib-db-manager"
	// DBManagerNamespace is the namespace of Katib's Service, in the SDK's default
	// address.
	DBManagerNamespace = "kubeflow"
)
