module github.com/streambus-io/function-streambus/test/pause

go 1.25
