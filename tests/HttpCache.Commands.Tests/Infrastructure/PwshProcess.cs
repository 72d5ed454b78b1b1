using System.Diagnostics;
using System.Text;

namespace HttpCache.Commands.Tests.Infrastructure;

/// <summary>What a fresh pwsh process printed and how it ended.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr, bool TimedOut, TimeSpan Elapsed)
{
    /// <summary>Lines of stdout, without the line ends.</summary>
    public IReadOnlyList<string> OutputLines => StdOut.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

    /// <summary>The value of the first stdout line "KEY=value", or null (a simple way for scenario scripts to report).</summary>
    public string? Value(string key) =>
        OutputLines.FirstOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal)) is { } line ? line[(key.Length + 1)..] : null;

    /// <summary>
    /// Throws with stdout and stderr unless the process exited 0 in time and wrote no error: pwsh goes on after
    /// a non-terminating error (and exits 0 when a later line succeeds), but a scenario must not pass with one.
    /// </summary>
    public ProcessResult AssertSuccess()
    {
        if (TimedOut || ExitCode != 0 || !string.IsNullOrWhiteSpace(StdErr))
        {
            throw new Xunit.Sdk.XunitException("The pwsh process failed." + Environment.NewLine + this);
        }

        return this;
    }

    public override string ToString() =>
        $"exit code {ExitCode}{(TimedOut ? " (timed out, killed)" : string.Empty)} after {Elapsed.TotalSeconds:0.0} s{Environment.NewLine}" +
        $"--- stdout ---{Environment.NewLine}{StdOut}{Environment.NewLine}--- stderr ---{Environment.NewLine}{StdErr}";
}

/// <summary>
/// Runs the real PowerShell (the .NET tool pinned in .config/dotnet-tools.json) in a fresh process:
/// the only way to see what a user's pwsh sees, with nothing from this test process's bin folder or
/// load contexts (design pitfall 1). The child gets HTTPCACHE_MODULE_MANIFEST, the staged
/// module/HttpCache.psd1, so scripts can <c>Import-Module $env:HTTPCACHE_MODULE_MANIFEST</c>.
/// </summary>
/// <remarks>
/// It starts <c>dotnet pwsh.dll</c> from the tool package rather than <c>dotnet pwsh</c>: the tool's
/// launcher runs pwsh as a child process, so killing a hung run would leave the real one behind.
/// The child is pwsh as a user starts it from a script: -NoProfile -NonInteractive, the default
/// $ErrorActionPreference (a non-terminating error does not stop a script; scenarios that must stop
/// say so), exit code 1 when a -Command script ends in an error.
/// </remarks>
public static class PwshProcess
{
    /// <summary>Default time limit: a cold pwsh start is 1-2 s, so this only ends a hang.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The environment variable that carries the staged manifest path to the child.</summary>
    public const string ModuleManifestVariable = "HTTPCACHE_MODULE_MANIFEST";

    /// <summary><c>pwsh -NoProfile -NonInteractive -Command &lt;script&gt;</c>.</summary>
    public static Task<ProcessResult> RunCommandAsync(
        string script,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default) =>
        RunAsync(["-Command", script], timeout, environment, cancellationToken);

    /// <summary><c>pwsh -NoProfile -NonInteractive -File &lt;path&gt; [arguments]</c>.</summary>
    public static Task<ProcessResult> RunFileAsync(
        string scriptPath,
        IEnumerable<string>? arguments = null,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default) =>
        RunAsync(["-File", scriptPath, .. arguments ?? []], timeout, environment, cancellationToken);

    /// <summary>pwsh with -NoProfile -NonInteractive and then these arguments.</summary>
    public static async Task<ProcessResult> RunAsync(
        IEnumerable<string> pwshArguments,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(DotnetHost.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // closed at once below: a prompt must fail, not wait
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(PwshTool.Assembly);
        foreach (var argument in (string[])["-NoLogo", "-NoProfile", "-NonInteractive", .. pwshArguments])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[ModuleManifestVariable] = RepoPaths.ModuleManifest;
        // Output is read by tests, not a terminal: no escape sequences in tables or errors.
        start.Environment["NO_COLOR"] = "1";
        start.Environment["TERM"] = "dumb";
        start.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        start.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + start.FileName);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // it exited in the meantime
            }

            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        return new ProcessResult(
            timedOut ? -1 : process.ExitCode,
            await stdout.ConfigureAwait(false),
            await stderr.ConfigureAwait(false),
            timedOut,
            clock.Elapsed);
    }
}
