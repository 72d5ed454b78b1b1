using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests;

/// <summary>
/// Where the Redis tests find their servers: the address in an environment variable (CI starts the servers
/// with .ci/redis.sh), else servers this fixture starts itself with the installed redis-server on free
/// loopback ports and stops when the test run ends. Under CI=true a missing variable fails the tests.
/// </summary>
public abstract class RedisFixtureBase : IAsyncLifetime
{
    private readonly List<RedisServerProcess> _servers = [];
    private string? _folder;
    private ConnectionMultiplexer? _connection;

    /// <summary>The environment variable holding the address.</summary>
    protected abstract string Variable { get; }

    /// <summary>The StackExchange.Redis configuration string of the servers (endpoints only).</summary>
    public string Configuration { get; private set; } = "";

    /// <summary>A connection shared by the tests of the collection; each test uses its own namespace.</summary>
    public IConnectionMultiplexer Connection => _connection ?? throw new InvalidOperationException("The fixture is not initialized.");

    /// <summary>Whether this fixture started the servers (rather than reading them from the environment).</summary>
    public bool StartedOwnServers => _servers.Count > 0;

    public async Task InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(configured))
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"{Variable} is not set and CI=true: the Redis tests need a server. Start them with `.ci/redis.sh start` and export what it prints.");
            }

            _folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "redis-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_folder);
            Configuration = await StartServersAsync(_folder, _servers);
        }
        else
        {
            Configuration = configured.Trim();
        }

        var options = ConfigurationOptions.Parse(Configuration);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 5000;
        options.SyncTimeout = options.AsyncTimeout = 10_000;
        _connection = await ConnectionMultiplexer.ConnectAsync(options);
        var deadline = Stopwatch.StartNew();
        while (!_connection.GetServers().Any(s => s.IsConnected && !s.IsReplica) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        if (!_connection.GetServers().Any(s => s.IsConnected && !s.IsReplica))
        {
            throw new InvalidOperationException($"No Redis server answers at {Configuration} (from {(StartedOwnServers ? "the servers this fixture started" : Variable)}).");
        }
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>Starts the servers; returns their configuration string.</summary>
    protected abstract Task<string> StartServersAsync(string folder, List<RedisServerProcess> servers);

    /// <summary>Deletes every key of a namespace, on every primary.</summary>
    public async Task DeleteNamespaceAsync(string @namespace)
    {
        var db = Connection.GetDatabase();
        foreach (var server in Connection.GetServers().Where(s => !s.IsReplica && s.IsConnected))
        {
            var keys = new List<RedisKey>();
            await foreach (var key in server.KeysAsync(db.Database, @namespace + ":*", 1000))
            {
                keys.Add(key);
            }

            // One key per command: in a Cluster they live in many slots.
            await Task.WhenAll(keys.Select(k => db.KeyDeleteAsync(k)));
        }
    }

    /// <summary>Every key of a namespace, on every primary.</summary>
    public async Task<List<string>> KeysAsync(string @namespace)
    {
        var db = Connection.GetDatabase();
        var all = new List<string>();
        foreach (var server in Connection.GetServers().Where(s => !s.IsReplica && s.IsConnected))
        {
            await foreach (var key in server.KeysAsync(db.Database, @namespace + ":*", 1000))
            {
                all.Add(key!);
            }
        }

        return all;
    }
}

/// <summary>One standalone server: HTTPCACHE_REDIS, e.g. 127.0.0.1:6390.</summary>
public sealed class RedisFixture : RedisFixtureBase
{
    protected override string Variable => "HTTPCACHE_REDIS";

    protected override async Task<string> StartServersAsync(string folder, List<RedisServerProcess> servers)
    {
        var server = await RedisServerProcess.StartAsync(RedisServerProcess.FreePort(), folder);
        servers.Add(server);
        return server.Endpoint;
    }
}

/// <summary>A three-primary Cluster: HTTPCACHE_REDIS_CLUSTER, e.g. 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002.</summary>
public sealed class RedisClusterFixture : RedisFixtureBase
{
    protected override string Variable => "HTTPCACHE_REDIS_CLUSTER";

    protected override async Task<string> StartServersAsync(string folder, List<RedisServerProcess> servers)
    {
        for (var i = 0; i < 3; i++)
        {
            var port = RedisServerProcess.FreePort();
            var busPort = RedisServerProcess.FreePort();
            servers.Add(await RedisServerProcess.StartAsync(
                port,
                folder,
                "--cluster-enabled", "yes",
                "--cluster-config-file", Path.Combine(folder, $"nodes-{port}.conf"),
                "--cluster-port", busPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--cluster-node-timeout", "5000"));
        }

        var create = new List<string> { "--cluster", "create" };
        create.AddRange(servers.Select(s => s.Endpoint));
        create.AddRange(["--cluster-replicas", "0", "--cluster-yes"]);
        var (exitCode, output) = await RedisServerProcess.RunCliAsync(create, TimeSpan.FromSeconds(60));
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({exitCode}):\n{output}");
        }

        var deadline = Stopwatch.StartNew();
        foreach (var server in servers)
        {
            while (true)
            {
                var (_, info) = await RedisServerProcess.RunCliAsync(["-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "cluster", "info"], TimeSpan.FromSeconds(10));
                if (info.Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    break;
                }

                if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new InvalidOperationException($"The cluster on {string.Join(",", servers.Select(s => s.Endpoint))} did not reach cluster_state:ok:\n{info}");
                }

                await Task.Delay(100);
            }
        }

        return string.Join(",", servers.Select(s => s.Endpoint));
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisFixture>
{
    public const string Name = "Redis";
}

[CollectionDefinition(Name)]
public sealed class RedisClusterCollection : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "Redis Cluster";
}

/// <summary>A redis-server this test run started (not daemonized, so the run owns the process), on loopback.</summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(15);

    private readonly string _folder;
    private readonly string[] _extra;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private RedisServerProcess(int port, string folder, string[] extra)
    {
        Port = port;
        _folder = folder;
        _extra = extra;
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts redis-server on the port and waits until it answers PING.</summary>
    public static async Task<RedisServerProcess> StartAsync(int port, string folder, params string[] extra)
    {
        var server = new RedisServerProcess(port, folder, extra);
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts the server again on the same port (empty: nothing is saved).</summary>
    public async Task StartAsync()
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("The server is running.");
        }

        var start = new ProcessStartInfo(Executable("redis-server"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", _folder, "--daemonize", "no", "--logfile", "",
        }.Concat(_extra))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += (_, e) => Log(e.Data);
        process.ErrorDataReceived += (_, e) => Log(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (!await PingAsync(Port))
        {
            if (process.HasExited || deadline.Elapsed > StartDeadline)
            {
                await StopAsync();
                throw new InvalidOperationException($"redis-server on {Endpoint} did not come up:\n{LogText()}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Kills the server at once, as a crash would, and waits for it to be gone.</summary>
    public async Task StopAsync()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            process.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>Runs redis-cli; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunCliAsync(IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Executable("redis-cli"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"redis-cli {string.Join(' ', start.ArgumentList)} did not finish within {timeout}.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Whether a Redis server answers PING on the loopback port.</summary>
    public static async Task<bool> PingAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private static string Executable(string name)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"{name} is not installed (not on PATH): install redis-server (apt-get install -y redis-server), or point HTTPCACHE_REDIS / HTTPCACHE_REDIS_CLUSTER at running servers.");
    }

    private void Log(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private string LogText()
    {
        lock (_log)
        {
            return _log.ToString();
        }
    }
}
