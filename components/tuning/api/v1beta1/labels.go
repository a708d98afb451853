package v1beta1

// Labels Katib puts on the objects of an experiment. They are part of the API: users,
// dashboards and tools (Katib's SDK and UI, kubectl selectors) find an experiment's trials,
// runs and pods by them, so their keys match Katib v0.19.
const (
	// LabelExperimentName holds the name of the experiment a trial, run or pod belongs to.
	LabelExperimentName = "katib.kubeflow.org/experiment"
	// LabelSuggestionName holds the name of the suggestion an object belongs to.
	LabelSuggestionName = "katib.kubeflow.org/suggestion"
	// LabelTrialName holds the name of the trial a run or pod belongs to.
	LabelTrialName = "katib.kubeflow.org/trial"
	// LabelDeploymentName holds the name of a suggestion's deployment.
	LabelDeploymentName = "katib.kubeflow.org/deployment"
	// LabelTrialTemplateConfigMapName marks the config maps holding trial templates,
	// with the value LabelTrialTemplateConfigMapValue.
	LabelTrialTemplateConfigMapName = "katib.kubeflow.org/component"
	// LabelTrialTemplateConfigMapValue is the value of LabelTrialTemplateConfigMapName
	// on a config map of trial templates.
	LabelTrialTemplateConfigMapValue = "trial-templates"

	// EnvTrialName is the environment variable holding the trial's name in the pods of
	// its run.
	EnvTrialName = "KATIB_TRIAL_NAME"

	// TrialTemplateParamReplaceFormat is the placeholder of a trial parameter in a
	// template: fmt.Sprintf(TrialTemplateParamReplaceFormat, name).
	TrialTemplateParamReplaceFormat = "${trialParameters.%v}"
)
