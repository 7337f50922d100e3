module github.com/psasync/adsync

go 1.26
