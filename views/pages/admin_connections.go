package pages

import "net/url"

// AdminConnectionRow is one connection in the list.
type AdminConnectionRow struct {
	Name        string
	Kind        string // aws, kubernetes
	Target      string // region, cluster, server or context
	Description string
	SecretSet   bool
	UsedBy      []string
	Updated     string
}

// AdminConnectionForm is the create/edit form, holding what was typed.
// Secret fields are never filled from the store: SecretSet says whether
// one is stored.
type AdminConnectionForm struct {
	// Editing names the connection being edited; empty for a new one.
	Editing     string
	Name        string
	Kind        string
	Description string
	SecretSet   bool

	AWSRegion, AWSRoleARN, AWSSessionName, AWSProfile     string
	AWSEndpointURL, AWSLogsEndpointURL, AWSSTSEndpointURL string

	KubeMode                               string // kubeconfig, in_cluster, eks, token
	KubeKubeconfig, KubeContext            string
	KubeEKSCluster, KubeRegion, KubeServer string
	KubeCAData, KubeRoleARN, KubeNamespace string
	// KubeQPS, KubeBurst, KubeLogQPS are the rate limits as typed ("" for
	// the defaults).
	KubeQPS, KubeBurst, KubeLogQPS string

	// Errors maps field names (aws.region, kubernetes.server, "" for the
	// form) to messages.
	Errors map[string]string
}

// AdminConnectionTest is the outcome of the Test button.
type AdminConnectionTest struct {
	Name    string
	OK      bool
	Message string
}

// AdminConnectionsView is the connections page's view-model.
type AdminConnectionsView struct {
	Connections []AdminConnectionRow
	Form        AdminConnectionForm
	Test        *AdminConnectionTest
}

func pathEscape(s string) string { return url.PathEscape(s) }

// connFormAction is where the form posts: create, or update the edited one.
func connFormAction(f AdminConnectionForm) string {
	if f.Editing == "" {
		return "/admin/connections"
	}
	return "/admin/connections/" + url.PathEscape(f.Editing)
}
