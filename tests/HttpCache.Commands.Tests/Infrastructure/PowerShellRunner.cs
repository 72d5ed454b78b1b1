using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text;

namespace HttpCache.Commands.Tests.Infrastructure;

/// <summary>What one script run produced, stream by stream.</summary>
public sealed class PowerShellResult
{
    public PowerShellResult(
        IReadOnlyList<PSObject> output,
        IReadOnlyList<ErrorRecord> errors,
        IReadOnlyList<string> verbose,
        IReadOnlyList<string> warnings,
        IReadOnlyList<InformationRecord> information,
        IReadOnlyList<string> debug,
        IReadOnlyList<ProgressRecord> progress,
        ErrorRecord? terminatingError)
    {
        Output = output;
        Errors = errors;
        Verbose = verbose;
        Warnings = warnings;
        Information = information;
        Debug = debug;
        Progress = progress;
        TerminatingError = terminatingError;
    }

    /// <summary>Pipeline output, in order.</summary>
    public IReadOnlyList<PSObject> Output { get; }

    /// <summary>Non-terminating errors (WriteError), in order.</summary>
    public IReadOnlyList<ErrorRecord> Errors { get; }

    public IReadOnlyList<string> Verbose { get; }

    public IReadOnlyList<string> Warnings { get; }

    public IReadOnlyList<InformationRecord> Information { get; }

    public IReadOnlyList<string> Debug { get; }

    public IReadOnlyList<ProgressRecord> Progress { get; }

    /// <summary>The error that stopped the script (throw, ThrowTerminatingError, -ErrorAction Stop), if any.</summary>
    public ErrorRecord? TerminatingError { get; }

    /// <summary>True when the script did not run to its end.</summary>
    public bool Threw => TerminatingError is not null;

    /// <summary>FullyQualifiedErrorIds of the non-terminating errors.</summary>
    public IReadOnlyList<string> ErrorIds => Errors.Select(e => e.FullyQualifiedErrorId).ToArray();

    /// <summary>The unwrapped output objects (PSObject.BaseObject).</summary>
    public IReadOnlyList<object> BaseOutput => Output.Select(o => o?.BaseObject!).ToArray();

    /// <summary>The only output object, as T; fails with the whole result when there is not exactly one.</summary>
    public T Single<T>()
    {
        if (Output.Count != 1 || Output[0]?.BaseObject is not T value)
        {
            throw new Xunit.Sdk.XunitException($"Expected exactly one {typeof(T).Name} in the output.{Environment.NewLine}{this}");
        }

        return value;
    }

    /// <summary>Throws with everything the run produced unless it ran clean (no terminating error, no errors).</summary>
    public PowerShellResult AssertSuccess()
    {
        if (Threw || Errors.Count > 0)
        {
            throw new Xunit.Sdk.XunitException("The script failed." + Environment.NewLine + this);
        }

        return this;
    }

    /// <summary>Every stream, for assertion messages.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine($"output ({Output.Count}):");
        foreach (var item in Output)
        {
            text.AppendLine("  " + item);
        }

        foreach (var error in Errors)
        {
            text.AppendLine($"error: {error} [{error.FullyQualifiedErrorId}]");
        }

        foreach (var line in Warnings)
        {
            text.AppendLine("warning: " + line);
        }

        foreach (var line in Verbose)
        {
            text.AppendLine("verbose: " + line);
        }

        if (TerminatingError is { } terminating)
        {
            text.AppendLine($"terminating: {terminating} [{terminating.FullyQualifiedErrorId}]");
            text.AppendLine(terminating.InvocationInfo?.PositionMessage);
            text.AppendLine(terminating.ScriptStackTrace);
        }

        return text.ToString();
    }
}

/// <summary>How to run a script in process.</summary>
public sealed record PowerShellRunOptions
{
    /// <summary>Bound to the script's param() block.</summary>
    public IReadOnlyDictionary<string, object?>? Parameters { get; init; }

    /// <summary>Set as variables in the runspace before the script runs ($name).</summary>
    public IReadOnlyDictionary<string, object?>? Variables { get; init; }

    /// <summary>Import the staged module/HttpCache.psd1 when the runspace opens (default true).</summary>
    public bool ImportModule { get; init; } = true;

    /// <summary>The run is stopped and a TimeoutException thrown past this (default 60 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Runs scripts in an in-process runspace (InitialSessionState.CreateDefault2) that imported the
/// staged module. The default $ErrorActionPreference ('Continue') is kept so tests see
/// non-terminating errors in <see cref="PowerShellResult.Errors"/>.
/// <code>
/// var r = await PowerShellRunner.RunAsync("Get-HttpCacheEntry -Session $s", ("s", session));
/// </code>
/// Each call opens its own runspace; use <see cref="PowerShellSession"/> to run several scripts in one.
/// </summary>
public static class PowerShellRunner
{
    public static async Task<PowerShellResult> RunAsync(string script, params (string Name, object? Value)[] variables)
    {
        using var session = PowerShellSession.Create();
        return await session.RunAsync(script, variables).ConfigureAwait(false);
    }

    public static async Task<PowerShellResult> RunAsync(string script, PowerShellRunOptions options, CancellationToken cancellationToken = default)
    {
        using var session = PowerShellSession.Create(options.ImportModule);
        return await session.RunAsync(script, options, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>One runspace kept open across several runs: variables and imported state carry over.</summary>
public sealed class PowerShellSession : IDisposable
{
    private readonly Runspace _runspace;

    private PowerShellSession(Runspace runspace) => _runspace = runspace;

    public Runspace Runspace => _runspace;

    public static PowerShellSession Create(bool importModule = true)
    {
        var iss = InitialSessionState.CreateDefault2();
        if (OperatingSystem.IsWindows())
        {
            // Linux has no execution policy (and setting one throws there).
            iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Unrestricted;
        }

        iss.ThrowOnRunspaceOpenError = true;
        if (importModule)
        {
            if (!File.Exists(RepoPaths.ModuleManifest))
            {
                throw new FileNotFoundException($"The staged module is missing: '{RepoPaths.ModuleManifest}'. Build the solution first.", RepoPaths.ModuleManifest);
            }

            iss.ImportPSModule(RepoPaths.ModuleManifest);
        }

        var runspace = RunspaceFactory.CreateRunspace(iss);
        try
        {
            runspace.Open();
        }
        catch
        {
            runspace.Dispose();
            throw;
        }

        return new PowerShellSession(runspace);
    }

    public Task<PowerShellResult> RunAsync(string script, params (string Name, object? Value)[] variables) =>
        RunAsync(script, new PowerShellRunOptions { Variables = variables.ToDictionary(v => v.Name, v => v.Value) });

    public async Task<PowerShellResult> RunAsync(string script, PowerShellRunOptions options, CancellationToken cancellationToken = default)
    {
        foreach (var (name, value) in options.Variables ?? new Dictionary<string, object?>())
        {
            _runspace.SessionStateProxy.SetVariable(name, value);
        }

        using var ps = PowerShell.Create(_runspace);
        ps.AddScript(script);
        if (options.Parameters is { Count: > 0 } parameters)
        {
            ps.AddParameters(parameters.ToDictionary(p => p.Key, p => p.Value));
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        await using var stopOnCancel = timeout.Token.Register(() => ps.BeginStop(null, null));

        ErrorRecord? terminating = null;
        PSDataCollection<PSObject> output;
        try
        {
            output = await ps.InvokeAsync().ConfigureAwait(false);
        }
        catch (RuntimeException ex) when (!timeout.IsCancellationRequested)
        {
            terminating = ex.ErrorRecord;
            output = new PSDataCollection<PSObject>();
        }
        catch (PipelineStoppedException) when (timeout.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"The script ran past {options.Timeout}.");
        }

        if (timeout.IsCancellationRequested && ps.InvocationStateInfo.State == PSInvocationState.Stopped)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"The script ran past {options.Timeout}.");
        }

        return new PowerShellResult(
            new ReadOnlyCollection<PSObject>(output.ToList()),
            ps.Streams.Error.ToArray(),
            ps.Streams.Verbose.Select(r => r.Message).ToArray(),
            ps.Streams.Warning.Select(r => r.Message).ToArray(),
            ps.Streams.Information.ToArray(),
            ps.Streams.Debug.Select(r => r.Message).ToArray(),
            ps.Streams.Progress.ToArray(),
            terminating);
    }

    public void Dispose() => _runspace.Dispose();
}
