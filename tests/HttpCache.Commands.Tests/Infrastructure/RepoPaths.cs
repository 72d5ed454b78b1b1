using System.Text.RegularExpressions;

namespace HttpCache.Commands.Tests.Infrastructure;

/// <summary>Where the repo, the staged module and the repo files are, seen from the test assembly.</summary>
/// <remarks>The Infrastructure types are public, unlike the product's: xunit test classes must be public,
/// and their protected helpers take and return these types.</remarks>
public static class RepoPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository root: the first folder above the test assembly holding HttpCache.sln.</summary>
    public static string Root => s_root.Value;

    /// <summary>module/: what the build stages and ships.</summary>
    public static string ModuleDirectory => Path.Combine(Root, "module");

    /// <summary>module/HttpCache.psd1, the manifest tests import.</summary>
    public static string ModuleManifest => Path.Combine(ModuleDirectory, "HttpCache.psd1");

    /// <summary>The &lt;Version&gt; in Directory.Build.props: the one version source the manifest must carry.</summary>
    public static string BuildVersion
    {
        get
        {
            var props = File.ReadAllText(Path.Combine(Root, "Directory.Build.props"));
            var match = Regex.Match(props, @"<Version>\s*([^<\s]+)\s*</Version>");
            return match.Success ? match.Groups[1].Value : throw new InvalidOperationException("No <Version> in Directory.Build.props.");
        }
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "HttpCache.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No HttpCache.sln above '{AppContext.BaseDirectory}'.");
    }
}
