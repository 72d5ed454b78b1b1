using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text;

namespace HttpCache.PSHost;

/// <summary>
/// A small PowerShell host for machines with the .NET SDK but no pwsh:
/// <c>dotnet HttpCache.PSHost.dll [-Verbose] -Command '&lt;script&gt;'</c> or
/// <c>dotnet HttpCache.PSHost.dll [-Verbose] -File path.ps1 [args]</c>.
/// It runs on System.Management.Automation from NuGet, so only the core commands exist.
/// Exit code: 1 when the script throws or a terminating error occurs (the host sets
/// $ErrorActionPreference = 'Stop', so any error is one unless the script relaxes it);
/// N for <c>exit N</c>; 0 otherwise; 64 for a bad command line.
/// </summary>
internal static class Program
{
    private const int ExitUsage = 64;

    private static int Main(string[] args)
    {
        Console.OutputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

        if (!HostArguments.TryParse(args, out var options, out var problem))
        {
            Console.Error.WriteLine(problem);
            Console.Error.WriteLine(HostArguments.Usage);
            return ExitUsage;
        }

        if (options.ShowHelp)
        {
            Console.WriteLine(HostArguments.Usage);
            return 0;
        }

        try
        {
            return ScriptRunner.Run(options);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // e.g. the runspace failed to open: report it as a failed run, not a crash dump.
            Console.Error.WriteLine($"HttpCache.PSHost: {ex.GetType().FullName}: {ex.Message}");
            return 1;
        }
    }
}

/// <summary>Runs one script in a fresh runspace and turns the outcome into an exit code.</summary>
internal static class ScriptRunner
{
    internal static int Run(HostOptions options)
    {
        var host = new ScriptHost();
        var iss = InitialSessionState.CreateDefault2();

        // On Windows, scripts and module files from a build folder would otherwise be refused; a
        // process-local setting, like pwsh -ExecutionPolicy Unrestricted. Linux and macOS have no
        // execution policy, and setting one there throws PlatformNotSupportedException.
        if (OperatingSystem.IsWindows())
        {
            iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Unrestricted;
        }

        iss.ThrowOnRunspaceOpenError = true;

        // Fail fast: a scenario script must not report success after an error it did not handle.
        iss.Variables.Add(new SessionStateVariableEntry("ErrorActionPreference", ActionPreference.Stop, "set by HttpCache.PSHost"));
        if (options.Verbose)
        {
            iss.Variables.Add(new SessionStateVariableEntry("VerbosePreference", ActionPreference.Continue, "set by HttpCache.PSHost -Verbose"));
        }

        using var runspace = RunspaceFactory.CreateRunspace(host, iss);
        runspace.Open();
        DisableAnsiRendering(runspace);

        using var ps = PowerShell.Create(runspace);
        ps.AddScript(options.BuildScript()).AddCommand("Out-Default");

        // Non-terminating errors never reach the host UI on their own: print each as it arrives, with
        // its FullyQualifiedErrorId, which is what tests reading stderr look for.
        ps.Streams.Error.DataAdded += (_, e) => host.Console.WriteErrorRecord(ps.Streams.Error[e.Index], terminating: false);

        // Ctrl+C stops the pipeline (cmdlets' StopProcessing cancels their work) instead of killing us.
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            ps.BeginStop(null, null);
        };
        Console.CancelKeyPress += onCancel;

        try
        {
            ps.Invoke();
        }
        catch (RuntimeException ex)
        {
            host.Console.WriteErrorRecord(ex.ErrorRecord, terminating: true);
            return 1;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            host.Console.WriteErrorLine($"{ex.GetType().FullName}: {ex.Message}");
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            host.Console.Flush();
        }

        if (ps.InvocationStateInfo.State == PSInvocationState.Stopped)
        {
            return 1;
        }

        return host.ExitCode ?? 0;
    }

    private static void DisableAnsiRendering(Runspace runspace)
    {
        // Output here is read by tests and CI logs, not a terminal: no escape sequences in tables or errors.
        using var ps = PowerShell.Create(runspace);
        ps.AddScript("if ($PSStyle) { $PSStyle.OutputRendering = 'PlainText' }");
        ps.Invoke();
    }
}
