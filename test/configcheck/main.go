// Command configcheck reads a rendered broker configuration the way the StreamBus v1.0.1 broker does
// (cmd/broker/main.go: cobra flags bound to viper keys, viper.SetConfigFile + SetEnvPrefix("STREAMBUS") +
// AutomaticEnv without a key replacer, then the same key reads and peer parsing; broker-contract.md §1) and
// prints what the broker would start with, as JSON. It is NOT the broker (the Go module proxy refuses
// github.com/gstreamio/streambus@v1.0.1 with 403); it checks that what we render parses into the values the
// broker needs, with the broker's own configuration library. Exits 1 with the broker's error messages.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

type peer struct {
	ID   uint64 `json:"id"`
	Addr string `json:"addr"`
}

type config struct {
	BrokerID    int32    `json:"brokerId"`
	Host        string   `json:"host"`
	Port        int      `json:"port"`
	HTTPPort    int      `json:"httpPort"`
	DataDir     string   `json:"dataDir"`
	RaftDataDir string   `json:"raftDataDir"`
	Peers       []peer   `json:"peers"`
	LogLevel    string   `json:"logLevel"`
	Warnings    []string `json:"warnings"`
}

func main() {
	var cfgFile string
	root := &cobra.Command{Use: "configcheck", SilenceUsage: true, RunE: func(*cobra.Command, []string) error {
		if cfgFile != "" {
			viper.SetConfigFile(cfgFile)
		}
		viper.SetEnvPrefix("STREAMBUS")
		viper.AutomaticEnv()
		if err := viper.ReadInConfig(); err != nil {
			return fmt.Errorf("error reading config file: %w", err)
		}
		c, err := parse()
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(c)
	}}
	root.PersistentFlags().StringVar(&cfgFile, "config", "", "config file")
	root.PersistentFlags().String("broker-id", "", "broker ID")
	root.PersistentFlags().String("host", "", "host")
	root.PersistentFlags().Int("port", 0, "port")
	root.PersistentFlags().String("data-dir", "", "data directory")
	_ = viper.BindPFlag("server.broker_id", root.PersistentFlags().Lookup("broker-id"))
	_ = viper.BindPFlag("server.host", root.PersistentFlags().Lookup("host"))
	_ = viper.BindPFlag("server.port", root.PersistentFlags().Lookup("port"))
	_ = viper.BindPFlag("storage.data_dir", root.PersistentFlags().Lookup("data-dir"))
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}

func parse() (*config, error) {
	c := &config{Warnings: []string{}}
	c.BrokerID = viper.GetInt32("server.broker_id")
	if c.BrokerID == 0 {
		return nil, fmt.Errorf("server.broker_id must be set")
	}
	c.Host = viper.GetString("server.host")
	if c.Host == "" {
		c.Host = "0.0.0.0"
	}
	c.Port = viper.GetInt("server.port")
	if c.Port == 0 {
		c.Port = 9092
	}
	c.HTTPPort = viper.GetInt("server.http_port")
	if c.HTTPPort == 0 {
		c.HTTPPort = 8080
	}
	c.DataDir = viper.GetString("storage.data_dir")
	if c.DataDir == "" {
		return nil, fmt.Errorf("storage.data_dir must be set")
	}
	c.RaftDataDir = viper.GetString("cluster.raft.data_dir")
	if c.RaftDataDir == "" {
		return nil, fmt.Errorf("cluster.raft.data_dir must be set")
	}
	if raw := viper.Get("cluster.peers"); raw != nil {
		list, ok := raw.([]interface{})
		if !ok {
			return nil, fmt.Errorf("cluster.peers must be an array")
		}
		for _, p := range list {
			s, ok := p.(string)
			if !ok {
				continue
			}
			parts := strings.Split(s, ":")
			if len(parts) != 3 {
				c.Warnings = append(c.Warnings, "invalid peer format: "+s)
				continue
			}
			var id uint64
			var port int
			if _, err := fmt.Sscanf(parts[0], "%d", &id); err != nil {
				c.Warnings = append(c.Warnings, "invalid peer id: "+parts[0])
				continue
			}
			if _, err := fmt.Sscanf(parts[2], "%d", &port); err != nil {
				c.Warnings = append(c.Warnings, "invalid peer port: "+parts[2])
				continue
			}
			c.Peers = append(c.Peers, peer{ID: id, Addr: fmt.Sprintf("%s:%d", parts[1], port)})
		}
	}
	if len(c.Peers) == 0 {
		return nil, fmt.Errorf("cluster.peers must have at least one peer")
	}
	c.LogLevel = viper.GetString("observability.logging.level")
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	return c, nil
}
