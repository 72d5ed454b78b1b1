using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HttpCache.Testing;

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
        var folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "redis-" + Guid.NewGuid().ToString("N"));
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

    /// <summary>Deletes a temp folder, leaving it to the system when it is still in use.</summary>
    public static void DeleteFolder(string folder)
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

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        if (_ownsFolder)
        {
            DeleteFolder(_folder);
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
