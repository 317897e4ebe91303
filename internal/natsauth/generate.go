package natsauth

import (
	"fmt"

	"github.com/nats-io/nkeys"
	"go.yaml.in/yaml/v3"
)

// Generate makes a new user of role named name: its entry for a users
// file (a bcrypt hash of a fresh random password, or with nkey a fresh
// nkey's public key) and the content of its credentials file (the
// password or the seed: a secret).
func Generate(name string, role Role, nkey bool) (User, []byte, error) {
	if err := CheckName(name); err != nil {
		return User{}, nil, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return User{}, nil, err
	}
	u := User{Name: name, Role: role}
	var f credsFile
	f.User = name
	if nkey {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return User{}, nil, fmt.Errorf("natsauth: creating an nkey: %w", err)
		}
		seed, err := kp.Seed()
		if err != nil {
			return User{}, nil, err
		}
		if u.Nkey, err = kp.PublicKey(); err != nil {
			return User{}, nil, err
		}
		f.Seed = string(seed)
	} else {
		f.Password = RandomSecret()
		h, err := HashPassword(f.Password)
		if err != nil {
			return User{}, nil, err
		}
		u.Password = h
	}
	data, err := yaml.Marshal(&f)
	if err != nil {
		return User{}, nil, err
	}
	return u, data, nil
}

// MarshalUsers writes users as a users file.
func MarshalUsers(users []User) ([]byte, error) {
	return yaml.Marshal(&usersFile{Users: users})
}
