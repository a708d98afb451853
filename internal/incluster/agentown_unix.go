package incluster

import (
	"os"
	"syscall"
)

// owner returns fi's uid and gid (-1, -1 where the system does not say).
func owner(fi os.FileInfo) [2]int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return [2]int{int(st.Uid), int(st.Gid)}
	}
	return [2]int{-1, -1}
}
