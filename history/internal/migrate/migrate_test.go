package migrate

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestLoad(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"m/0002_links.sql": {Data: []byte("CREATE TABLE b (x int);")},
		"m/0001_init.sql":  {Data: []byte("CREATE TABLE a (x int);")},
		"m/README":         {Data: []byte("not a migration")},
	}, "m")
	require.NoError(t, err)
	require.Equal(t, []Migration{{1, "0001_init.sql", "CREATE TABLE a (x int);"}, {2, "0002_links.sql", "CREATE TABLE b (x int);"}}, ms)
	require.Equal(t, 2, Latest(ms))

	for name, fsys := range map[string]fstest.MapFS{
		"a gap":          {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"no number":      {"m/init.sql": {}},
		"twice a number": {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
		"none":           {},
	} {
		_, err := Load(fsys, "m")
		require.Error(t, err, name)
	}
}
