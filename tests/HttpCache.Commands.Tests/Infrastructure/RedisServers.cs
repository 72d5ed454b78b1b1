using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HttpCache.Commands.Tests.Infrastructure;

/// <summary>
/// Where the cmdlet tests find Redis, by the engine tests' rules: the address in an environment variable
/// (HTTPCACHE_REDIS, HTTPCACHE_REDIS_CLUSTER; .ci/run starts the servers and exports them), else servers this
/// fixture starts itself with the installed redis-server on free loopback ports and stops at the end. Under
/// CI=true a missing variable fails the tests. This project does not reference StackExchange.Redis (it tests the
/// staged module), so the fixture talks RESP itself (<see cref="RespConnection"/>).
/// </summary>
public abstract class RedisServersFixture : IAsyncLifetime
{
    private readonly List<RedisServerProcess> _servers = [];
    private string? _folder;

    /// <summary>The environment variable holding the address.</summary>
    protected abstract string Variable { get; }

    /// <summary>The StackExchange.Redis configuration string of the servers, as New-HttpCacheSession -RedisConfiguration takes it.</summary>
    public string Configuration { get; private set; } = string.Empty;

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
                    $"{Variable} is not set and CI=true: the Redis tests need a server. .ci/run starts them (`bash .ci/redis.sh start` prints the exports).");
            }

            _folder = Path.Combine(Path.GetTempPath(), "HttpCache.Commands.Tests", "redis-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_folder);
            Configuration = await StartServersAsync(_folder, _servers);
        }
        else
        {
            Configuration = configured.Trim();
        }

        var primaries = await PrimariesAsync();
        if (primaries.Count == 0)
        {
            throw new InvalidOperationException($"No Redis primary answers at {Configuration} (from {(StartedOwnServers ? "the servers this fixture started" : Variable)}).");
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        if (_folder is not null)
        {
            TryDelete(_folder);
        }
    }

    /// <summary>Starts the servers; returns their configuration string.</summary>
    protected abstract Task<string> StartServersAsync(string folder, List<RedisServerProcess> servers);

    /// <summary>The primaries to walk: the configured endpoints, or a Cluster's primaries as it reports them.</summary>
    protected virtual Task<List<DnsEndPoint>> PrimariesAsync() => Task.FromResult(ConfiguredEndpoints(Configuration));

    /// <summary>Every key of a namespace, on every primary.</summary>
    public async Task<List<string>> KeysAsync(string @namespace)
    {
        var keys = new List<string>();
        foreach (var primary in await PrimariesAsync())
        {
            await using var connection = await RespConnection.OpenAsync(primary.Host, primary.Port);
            keys.AddRange(await connection.KeysAsync(@namespace + ":*"));
        }

        return keys;
    }

    /// <summary>Deletes every key of a namespace, on every primary (one DEL per key: a Cluster spreads them over slots).</summary>
    public async Task DeleteNamespaceAsync(string @namespace)
    {
        foreach (var primary in await PrimariesAsync())
        {
            await using var connection = await RespConnection.OpenAsync(primary.Host, primary.Port);
            foreach (var key in await connection.KeysAsync(@namespace + ":*"))
            {
                await connection.CommandAsync("DEL", key);
            }
        }
    }

    /// <summary>The host:port parts of a configuration string (the parts without '=').</summary>
    public static List<DnsEndPoint> ConfiguredEndpoints(string configuration) =>
        configuration.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(part => !part.Contains('=', StringComparison.Ordinal))
            .Select(ParseEndpoint)
            .ToList();

    internal static DnsEndPoint ParseEndpoint(string endpoint)
    {
        // A Cluster node that was never told its address reports ":port".
        var colon = endpoint.LastIndexOf(':');
        var host = (colon < 0 ? endpoint : endpoint[..colon]).Trim('[', ']');
        return new DnsEndPoint(
            host.Length == 0 ? "127.0.0.1" : host,
            colon < 0 ? 6379 : int.Parse(endpoint[(colon + 1)..], CultureInfo.InvariantCulture));
    }

    internal static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // The temp folder is cleaned by the system.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>One standalone server: HTTPCACHE_REDIS, e.g. 127.0.0.1:6390.</summary>
public sealed class RedisStandaloneFixture : RedisServersFixture
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
public sealed class RedisClusterServersFixture : RedisServersFixture
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
                "--cluster-config-file", Path.Combine(folder, $"nodes-{port.ToString(CultureInfo.InvariantCulture)}.conf"),
                "--cluster-port", busPort.ToString(CultureInfo.InvariantCulture),
                "--cluster-node-timeout", "5000"));
        }

        var (exitCode, output) = await RedisServerProcess.RunCliAsync(
            ["--cluster", "create", .. servers.Select(s => s.Endpoint), "--cluster-replicas", "0", "--cluster-yes"],
            TimeSpan.FromSeconds(60));
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({exitCode}):\n{output}");
        }

        var deadline = Stopwatch.StartNew();
        foreach (var server in servers)
        {
            while (true)
            {
                await using (var connection = await RespConnection.OpenAsync("127.0.0.1", server.Port))
                {
                    if (((string?)await connection.CommandAsync("CLUSTER", "INFO"))?.Contains("cluster_state:ok", StringComparison.Ordinal) == true)
                    {
                        break;
                    }
                }

                if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new InvalidOperationException($"The cluster on {string.Join(",", servers.Select(s => s.Endpoint))} did not reach cluster_state:ok.");
                }

                await Task.Delay(100);
            }
        }

        return string.Join(",", servers.Select(s => s.Endpoint));
    }

    /// <summary>The primaries the Cluster reports (CLUSTER NODES on the first configured node that answers).</summary>
    protected override async Task<List<DnsEndPoint>> PrimariesAsync()
    {
        foreach (var endpoint in ConfiguredEndpoints(Configuration))
        {
            try
            {
                await using var connection = await RespConnection.OpenAsync(endpoint.Host, endpoint.Port);
                var nodes = (string?)await connection.CommandAsync("CLUSTER", "NODES") ?? string.Empty;
                // <id> <ip:port@cport[,hostname]> <flags> …: primaries flagged "master", not failed.
                return nodes.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(line => line.Split(' '))
                    .Where(f => f.Length > 2 && f[2].Split(',').Contains("master") && !f[2].Contains("fail", StringComparison.Ordinal))
                    .Select(f => f[1].Split('@')[0])
                    .Select(ParseEndpoint)
                    .ToList();
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
                // Try the next configured node.
            }
        }

        return [];
    }
}

[CollectionDefinition(Name)]
public sealed class RedisStandaloneCollection : ICollectionFixture<RedisStandaloneFixture>
{
    public const string Name = "Commands Redis standalone (shared cache)";
}

[CollectionDefinition(Name)]
public sealed class RedisClusterServersCollection : ICollectionFixture<RedisClusterServersFixture>
{
    public const string Name = "Commands Redis Cluster (shared cache)";
}

/// <summary>
/// A redis-server this test run started on loopback (not daemonized, so the run owns the process). Outage tests
/// start one of their own and stop it with SHUTDOWN NOSAVE, then start it again on the same port.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(15);

    private readonly string _folder;
    private readonly bool _ownsFolder;
    private readonly string[] _extra;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private RedisServerProcess(int port, string folder, bool ownsFolder, string[] extra)
    {
        Port = port;
        _folder = folder;
        _ownsFolder = ownsFolder;
        _extra = extra;
    }

    public int Port { get; }

    /// <summary>127.0.0.1:port, as a configuration string.</summary>
    public string Endpoint => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts redis-server on the port, its files in <paramref name="folder"/>, and waits until it answers PING.</summary>
    public static async Task<RedisServerProcess> StartAsync(int port, string folder, params string[] extra)
    {
        var server = new RedisServerProcess(port, folder, ownsFolder: false, extra);
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts a server on a free port with a temp folder of its own (deleted with it).</summary>
    public static async Task<RedisServerProcess> StartDedicatedAsync(int? port = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "HttpCache.Commands.Tests", "redis-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var server = new RedisServerProcess(port ?? FreePort(), folder, ownsFolder: true, []);
        try
        {
            await server.StartAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Whether the process this object started is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts the server (again) on its port; empty, as nothing is saved.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"redis-server on {Endpoint} is running.");
        }

        _process?.Dispose();
        _process = null;
        var start = new ProcessStartInfo(Executable("redis-server"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in new[]
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", string.Empty, "--appendonly", "no", "--dir", _folder, "--daemonize", "no", "--logfile", string.Empty,
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
                await KillAsync();
                throw new InvalidOperationException($"redis-server on {Endpoint} did not come up:\n{LogText()}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Stops the server the way an operator does (redis-cli SHUTDOWN NOSAVE) and waits until the process is gone.</summary>
    public async Task ShutdownAsync()
    {
        // redis-cli may report the connection the server closed as an error: that the process ends is what counts.
        await RunCliAsync(["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "shutdown", "nosave"], TimeSpan.FromSeconds(10));
        if (_process is { } process)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new InvalidOperationException($"redis-server on {Endpoint} did not exit after SHUTDOWN NOSAVE:\n{LogText()}");
            }
        }
    }

    /// <summary>Kills the server at once, as a crash would, and waits for it to be gone.</summary>
    public async Task KillAsync()
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
        catch (InvalidOperationException)
        {
            // It exited in the meantime.
        }
        finally
        {
            process.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        if (_ownsFolder)
        {
            RedisServersFixture.TryDelete(_folder);
        }
    }

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
            await using var connection = await RespConnection.OpenAsync("127.0.0.1", port, TimeSpan.FromSeconds(1));
            return (string?)await connection.CommandAsync("PING") == "PONG";
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or InvalidOperationException)
        {
            return false;
        }
    }

    private static string Executable(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException(
            $"{name} is not installed (not on PATH): install redis-server (apt-get install -y redis-server), or point HTTPCACHE_REDIS / HTTPCACHE_REDIS_CLUSTER at running servers.");

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

/// <summary>A minimal RESP2 client for test set-up and inspection: one connection, one command at a time.</summary>
public sealed class RespConnection : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly Stream _stream;
    private readonly TimeSpan _timeout;

    private RespConnection(TcpClient client, TimeSpan timeout)
    {
        _client = client;
        _stream = new BufferedStream(client.GetStream());
        _timeout = timeout;
    }

    public static async Task<RespConnection> OpenAsync(string host, int port, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var client = new TcpClient();
        try
        {
            using var cancel = new CancellationTokenSource(limit);
            await client.ConnectAsync(host, port, cancel.Token);
            return new RespConnection(client, limit);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Runs one command; returns a string, a long, null, or an array of those. An error reply throws.</summary>
    public async Task<object?> CommandAsync(params string[] arguments)
    {
        using var cancel = new CancellationTokenSource(_timeout);
        var request = new StringBuilder().Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        await _stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancel.Token);
        await _stream.FlushAsync(cancel.Token);
        return await ReadReplyAsync(cancel.Token);
    }

    /// <summary>The keys of this node that match a pattern (SCAN).</summary>
    public async Task<List<string>> KeysAsync(string pattern)
    {
        var keys = new List<string>();
        var cursor = "0";
        do
        {
            var reply = (object?[])(await CommandAsync("SCAN", cursor, "MATCH", pattern, "COUNT", "1000"))!;
            cursor = (string)reply[0]!;
            keys.AddRange(((object?[])reply[1]!).Select(k => (string)k!));
        }
        while (cursor != "0");
        return keys;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<object?> ReadReplyAsync(CancellationToken token)
    {
        var line = await ReadLineAsync(token);
        switch (line[0])
        {
            case '+':
                return line[1..];
            case '-':
                throw new InvalidOperationException("Redis: " + line[1..]);
            case ':':
                return long.Parse(line[1..], CultureInfo.InvariantCulture);
            case '$':
                var length = int.Parse(line[1..], CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }

                var buffer = new byte[length + 2];
                await _stream.ReadExactlyAsync(buffer, token);
                return Encoding.UTF8.GetString(buffer, 0, length);
            case '*':
                var count = int.Parse(line[1..], CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    return null;
                }

                var items = new object?[count];
                for (var i = 0; i < count; i++)
                {
                    items[i] = await ReadReplyAsync(token);
                }

                return items;
            default:
                throw new InvalidOperationException("Unexpected Redis reply: " + line);
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken token)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            await _stream.ReadExactlyAsync(one, token);
            if (one[0] == '\n' && bytes.Count > 0 && bytes[^1] == '\r')
            {
                return Encoding.UTF8.GetString(bytes.ToArray(), 0, bytes.Count - 1);
            }

            bytes.Add(one[0]);
        }
    }
}
