using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Packaging;

/// <summary>The small host's contract: README's commands and the out-of-process tests rely on it.</summary>
public sealed class PSHostTests
{
    [Fact]
    public async Task SuccessExitsZeroAndRendersOutputThroughOutDefault()
    {
        var run = (await PSHostProcess.RunCommandAsync("'plain'; [pscustomobject]@{ Name = 'n1'; Size = 42 }")).AssertSuccess();

        Assert.Contains("plain", run.OutputLines);
        Assert.Contains(run.OutputLines, l => l.StartsWith("Name", StringComparison.Ordinal) && l.Contains("Size", StringComparison.Ordinal));
        Assert.Contains(run.OutputLines, l => l.StartsWith("n1", StringComparison.Ordinal) && l.Contains("42", StringComparison.Ordinal));
        Assert.DoesNotContain('\u001b', run.StdOut); // plain text, no ANSI escapes
    }

    [Fact]
    public async Task ThrowExitsOneAndPrintsTheErrorId()
    {
        var run = await PSHostProcess.RunCommandAsync("'before'; throw 'scenario failed'; 'after'");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("before", run.OutputLines);
        Assert.DoesNotContain("after", run.OutputLines);
        Assert.Contains("scenario failed", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("FullyQualifiedErrorId : scenario failed", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonTerminatingErrorStopsTheScriptByDefault()
    {
        var run = await PSHostProcess.RunCommandAsync("""
            function Fail { [CmdletBinding()] param() $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([Exception]::new('one item failed'), 'Test.ItemFailed', 'InvalidData', $null)) }
            Fail
            'after'
            """);

        Assert.Equal(1, run.ExitCode);
        Assert.DoesNotContain("after", run.OutputLines);
        Assert.Contains("Test.ItemFailed,Fail", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExitCodeIsPassedOn()
    {
        var run = await PSHostProcess.RunCommandAsync("exit 7");
        Assert.Equal(7, run.ExitCode);
    }

    [Fact]
    public async Task VerboseAndWarningsAreWritten()
    {
        const string script = """
            function Talk { [CmdletBinding()] param() $PSCmdlet.WriteVerbose('details'); $PSCmdlet.WriteWarning('careful') }
            Talk
            Talk -Verbose
            """;
        var run = (await PSHostProcess.RunCommandAsync(script)).AssertSuccess();

        Assert.Equal(2, run.OutputLines.Count(l => l == "WARNING: careful"));
        Assert.Equal(1, run.OutputLines.Count(l => l == "VERBOSE: details"));

        var verbose = (await PSHostProcess.RunAsync(["-Verbose", "-Command", "function Talk { [CmdletBinding()] param() $PSCmdlet.WriteVerbose('details') }; Talk"])).AssertSuccess();
        Assert.Contains("VERBOSE: details", verbose.OutputLines);
    }

    [Fact]
    public async Task FileRunsWithParametersAndArguments()
    {
        var script = Path.Combine(Path.GetTempPath(), $"httpcache-pshost-{Guid.NewGuid():N}.ps1");
        await File.WriteAllTextAsync(script, """
            param([string]$Name, [switch]$Loud, [int]$Count = 1)
            "NAME=$Name"
            "LOUD=$Loud"
            "COUNT=$Count"
            "REST=$($args -join '|')"
            "ROOT=$PSScriptRoot"
            if ($Count -eq 5) { exit 5 }
            """);
        try
        {
            var run = (await PSHostProcess.RunFileAsync(script, ["-Name", "it's a name", "-Loud", "-Count", "2", "extra"])).AssertSuccess();
            Assert.Equal("it's a name", run.Value("NAME"));
            Assert.Equal("True", run.Value("LOUD"));
            Assert.Equal("2", run.Value("COUNT"));
            Assert.Equal("extra", run.Value("REST"));
            Assert.Equal(Path.GetDirectoryName(script), run.Value("ROOT"));

            var exit = await PSHostProcess.RunFileAsync(script, ["-Count:5"]);
            Assert.Equal(5, exit.ExitCode);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public async Task PromptsFailInsteadOfWaiting()
    {
        var run = await PSHostProcess.RunCommandAsync("$Host.UI.ReadLine()", timeout: TimeSpan.FromSeconds(60));

        Assert.False(run.TimedOut, run.ToString());
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("non-interactive", run.StdErr, StringComparison.Ordinal);
    }
}
