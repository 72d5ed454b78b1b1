using System.Diagnostics;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Packaging;

/// <summary>The out-of-process tests' contract: they run the pinned, real pwsh, and a hung run cannot outlive its test.</summary>
public sealed class PwshProcessTests
{
    [Fact]
    public async Task RunsThePowerShellVersionTheToolManifestPins()
    {
        var run = (await PwshProcess.RunCommandAsync("\"VERSION=$($PSVersionTable.PSVersion)\"; \"EDITION=$($PSVersionTable.PSEdition)\"; \"HOST=$($Host.Name)\"")).AssertSuccess();

        Assert.Equal(PwshTool.Version, run.Value("VERSION"));
        Assert.Equal("Core", run.Value("EDITION"));
        Assert.Equal("ConsoleHost", run.Value("HOST"));
    }

    [Fact]
    public async Task AScriptThatThrowsExitsNonZeroAndStopsThere()
    {
        var run = await PwshProcess.RunCommandAsync("'before'; throw 'scenario failed'; 'after'");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("before", run.OutputLines);
        Assert.DoesNotContain("after", run.OutputLines);
        Assert.Contains("scenario failed", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APromptFailsInsteadOfWaiting()
    {
        var run = await PwshProcess.RunCommandAsync("Read-Host 'name'", timeout: TimeSpan.FromSeconds(60));

        Assert.False(run.TimedOut, run.ToString());
        Assert.NotEqual(0, run.ExitCode);
    }

    [Fact]
    public async Task ATimedOutRunKillsTheRealPwshProcess()
    {
        // Wait-Event on an event nobody raises: a script that hangs for good.
        var run = await PwshProcess.RunCommandAsync("\"PID=$PID\"; [Console]::Out.Flush(); Wait-Event -SourceIdentifier 'never-raised'", timeout: TimeSpan.FromSeconds(30));

        Assert.True(run.TimedOut, run.ToString());
        var pid = int.Parse(run.Value("PID") ?? throw new Xunit.Sdk.XunitException("pwsh printed no PID before the deadline" + Environment.NewLine + run), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid)); // gone, not orphaned behind a launcher
    }
}
