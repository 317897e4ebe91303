// Package natsauth gives the NATS server and its clients their
// credentials and permissions: the roles of a brain's NATS (node, sensor,
// observer, operator) as per-user subject permissions, the users file an
// embedded server loads, the credentials file a node or a client
// connects with, and TLS for client connections, client listeners and
// routes.
//
// Nothing here prints a secret: errors name the file and the field, never
// its value, and Creds formats itself without its password or seed.
package natsauth

import (
	"fmt"
	"regexp"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/spikemesh/spikemesh/pns"
)

// Role is what a NATS user may do with one brain.
type Role string

const (
	// RoleNode is a node of the brain: everything under
	// <prefix>.<brain>.>, and request-reply inboxes.
	RoleNode Role = "node"
	// RoleSensor publishes sensor frames (<prefix>.<brain>.sensor.>, as
	// requests acknowledged by the brain or not), asks for the table of
	// areas (<prefix>.<brain>.areas), and reads motor frames and the
	// replies to its requests.
	RoleSensor Role = "sensor"
	// RoleObserver reads motor frames and asks for the brain's statistics
	// (<prefix>.<brain>.stats), table of areas and cluster status
	// (<prefix>.<brain>.cluster.status); it cannot publish anything else.
	RoleObserver Role = "observer"
	// RoleOperator changes the brain's pace on its own control subject
	// <prefix>.<brain>.ctl.<name> and asks for statistics, the table of
	// areas and the cluster status.
	RoleOperator Role = "operator"
)

// Roles lists every role.
var Roles = []Role{RoleNode, RoleSensor, RoleObserver, RoleOperator}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (want node, sensor, observer or operator)", s)
}

// inbox is where nats.go's request-reply answers arrive.
const inbox = "_INBOX.>"

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CheckName checks a user name: it becomes a subject token (an operator's
// control subject), so letters, digits, '-' and '_', at most 64.
func CheckName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("user name %q: want 1 to 64 letters, digits, '-' or '_'", name)
	}
	return nil
}

// Base is <prefix>.<brain>, the first tokens of every subject of a brain.
func Base(s pns.Subjects) string {
	if s.Prefix == "" {
		s.Prefix = pns.DefaultPrefix
	}
	if s.Brain == "" {
		s.Brain = pns.DefaultBrain
	}
	return s.Prefix + "." + s.Brain
}

// ControlSubject is the control subject of the operator name: the brain
// logs every change made on it as made by name, and only that operator
// may publish there. name "" gives the bare control subject, which only
// nodes may publish on a server with roles.
func ControlSubject(s pns.Subjects, name string) string {
	if name == "" {
		return Base(s) + ".ctl"
	}
	return Base(s) + ".ctl." + name
}

// StatsSubject answers any request with the brain's statistics and changes
// nothing.
func StatsSubject(s pns.Subjects) string { return Base(s) + ".stats" }

// AreasSubject answers requests with the brain's table of areas (read
// only).
func AreasSubject(s pns.Subjects) string { return Base(s) + ".areas" }

// ClusterStatusSubject answers requests with the state of the brain's
// cluster: members, placement of areas, checkpoints and recoveries (read
// only, like the statistics).
func ClusterStatusSubject(s pns.Subjects) string { return Base(s) + ".cluster.status" }

// Permissions returns what role may publish and subscribe on the brain of
// s; name is the user's name (an operator's control subject).
func Permissions(role Role, s pns.Subjects, name string) *server.Permissions {
	base := Base(s)
	perm := func(pub, sub []string) *server.Permissions {
		return &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: pub},
			Subscribe: &server.SubjectPermission{Allow: sub},
		}
	}
	switch role {
	case RoleNode:
		return perm([]string{base + ".>", inbox}, []string{base + ".>", inbox})
	case RoleSensor:
		return perm([]string{base + ".sensor.>", AreasSubject(s)}, []string{base + ".motor.>", inbox})
	case RoleObserver:
		return perm([]string{StatsSubject(s), AreasSubject(s), ClusterStatusSubject(s)}, []string{base + ".motor.>", inbox})
	case RoleOperator:
		return perm([]string{ControlSubject(s, name), StatsSubject(s), AreasSubject(s), ClusterStatusSubject(s)}, []string{inbox})
	}
	// Unknown roles are refused when the users file is read; nothing here.
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Deny: []string{">"}},
		Subscribe: &server.SubjectPermission{Deny: []string{">"}},
	}
}
