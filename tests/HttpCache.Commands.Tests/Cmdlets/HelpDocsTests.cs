using System.Text.RegularExpressions;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// docs/&lt;cmdlet&gt;.md is the help's source (conventions 13): a page per exported cmdlet, documenting exactly
/// its parameters, with at least three examples and the platyPS sections a MAML generator reads.
/// </summary>
public sealed partial class HelpDocsTests
{
    private static readonly string[] CommonParameters =
    [
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable",
        "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
    ];

    public static TheoryData<string> Cmdlets =>
    [
        "New-HttpCacheSession", "Invoke-CachedWebRequest", "Invoke-CachedRestMethod", "Get-HttpCacheEntry", "Remove-HttpCacheEntry",
        "Reset-HttpCacheExpiration", "Get-HttpCacheStats", "Enable-HttpCache", "Disable-HttpCache", "Use-HttpCache", "Get-HttpCacheSession",
    ];

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public async Task PageDocumentsExactlyTheCmdletsParameters(string command)
    {
        var page = Path.Combine(RepoPaths.Root, "docs", command + ".md");
        Assert.True(File.Exists(page), $"docs/{command}.md is missing");
        var text = await File.ReadAllTextAsync(page);

        using var ps = PS.Open();
        var parameters = (await ps.Ok("(Get-Command $c).Parameters.Keys", ("c", command))).BaseOutput.Select(o => o.ToString()!)
            .Except(CommonParameters).Order().ToArray();
        var documented = ParameterHeading().Matches(text).Select(m => m.Groups[1].Value).Order().ToArray();

        Assert.Equal(parameters, documented);
        foreach (var section in new[] { $"# {command}", "## SYNOPSIS", "## SYNTAX", "## DESCRIPTION", "## EXAMPLES", "## PARAMETERS", "## INPUTS", "## OUTPUTS" })
        {
            Assert.Contains("\n" + section + "\n", text.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
        }

        Assert.True(ExampleHeading().Matches(text).Count >= 3, $"docs/{command}.md has fewer than three examples");
    }

    [GeneratedRegex(@"^### -(\w+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ParameterHeading();

    [GeneratedRegex(@"^### Example \d+", RegexOptions.Multiline)]
    private static partial Regex ExampleHeading();
}
