using System.Text.RegularExpressions;
using HttpCache.Commands.Tests.Cmdlets;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Help;

/// <summary>
/// README's "Using HttpCache in your Pester tests" stays true: its offline-fixture script is the very script
/// PesterScenarioTests runs, and its mock object has every property of the real HttpCache.CachedResponse.
/// </summary>
public sealed partial class ReadmeTests
{
    private static string Readme => File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string Section()
    {
        var readme = Readme;
        var start = readme.IndexOf("\n## Using HttpCache in your Pester tests\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no '## Using HttpCache in your Pester tests' section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? readme[start..] : readme[start..end];
    }

    /// <summary>The first ```powershell block after an HTML comment that starts with <paramref name="marker"/>.</summary>
    private static string BlockAfter(string marker)
    {
        var section = Section();
        var at = section.IndexOf("<!-- " + marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"README's Pester section has no '<!-- {marker}' marker");
        var match = FencedPowerShell().Match(section, at);
        Assert.True(match.Success, $"no ```powershell block after '{marker}'");
        return match.Groups["code"].Value;
    }

    [Fact]
    public void OfflineFixtureExampleIsTheTestedScript()
    {
        var script = File.ReadAllText(Path.Combine(RepoPaths.Root, "tests", "pester", "scenarios", "OfflineFixture.ps1")).Replace("\r\n", "\n", StringComparison.Ordinal);

        Assert.Equal(script.TrimEnd('\n'), BlockAfter("offline-fixture-example").TrimEnd('\n'));
    }

    [Fact]
    public void SectionExplainsThePattern()
    {
        var section = Section();
        foreach (var phrase in new[] { "NeverExpire", "-OnlyIfCached", "504", "commit", "Mock Invoke-CachedWebRequest", "PSTypeName", "HttpCache.CachedResponse" })
        {
            Assert.Contains(phrase, section, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task MockObjectHasEveryPropertyOfTheRealAnswer()
    {
        var mock = BlockAfter("mock-example");
        var names = MockProperty().Matches(mock).Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Assert.Contains("PSTypeName", names);
        Assert.Contains("PSTypeName        = 'HttpCache.CachedResponse'", mock, StringComparison.Ordinal);

        using var ps = PS.Open();
        var properties = (await ps.Ok("[HttpCache.CachedResponse].GetProperties() | ForEach-Object Name")).BaseOutput.Select(o => o.ToString()!).ToArray();
        Assert.NotEmpty(properties);
        Assert.DoesNotContain(properties, p => !names.Contains(p));
    }

    [GeneratedRegex(@"```powershell\n(?<code>.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex FencedPowerShell();

    [GeneratedRegex(@"^\s*(?<name>[A-Za-z]+)\s+=\s", RegexOptions.Multiline)]
    private static partial Regex MockProperty();
}
