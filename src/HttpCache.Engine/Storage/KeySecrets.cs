using System.Security.AccessControl;
using System.Security.Cryptography;
using System.Security.Principal;
using System.Text;

namespace HttpCache.Engine.Storage;

/// <summary>Where a session's key secret (the HMAC key of its secrets' digests) came from.</summary>
public enum KeySecretSource
{
    /// <summary>Given by the caller (<c>-KeySecret</c>).</summary>
    Given,
    /// <summary>The <c>HTTPCACHE_KEY_SECRET</c> environment variable.</summary>
    Environment,
    /// <summary>The user's key file, created on first use, readable by the user only.</summary>
    UserKeyFile,
    /// <summary>Random for this process: a Memory store, or a key file that could not be read or made.</summary>
    Process,
    /// <summary>None (a shared store without a secret): digests are only as strong as the secrets themselves.</summary>
    None,
}

/// <summary>
/// The key secret under which credentials are digested for cache keys (HMAC-SHA-256), kept out of the store
/// so a stolen cache cannot be searched for credentials by guessing. Local stores use a random per-user key
/// in a file only the user can read; stores shared across machines need the same secret everywhere, given
/// by <c>-KeySecret</c> or <see cref="EnvironmentVariable"/>.
/// </summary>
public static class KeySecrets
{
    /// <summary>The environment variable a key secret can be given in (as text; its UTF-8 bytes are the key).</summary>
    public const string EnvironmentVariable = "HTTPCACHE_KEY_SECRET";

    /// <summary>The key file's name.</summary>
    public const string FileName = "key-secret";

    private static readonly Lazy<byte[]> ProcessSecret = new(() => RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// <c>HttpCache/key-secret</c> under the user's configuration folder: <c>$XDG_CONFIG_HOME</c> (when set and
    /// absolute) or <c>~/.config</c> on Linux, <c>~/Library/Application Support</c> on macOS, <c>%LOCALAPPDATA%</c>
    /// on Windows. Not the cache folder: the key is configuration, and a cache session at its own -Path never
    /// touches the default cache folder.
    /// </summary>
    public static string DefaultFilePath { get; } = Path.Combine(
        UserConfigFolder(
            OperatingSystem.IsWindows(),
            OperatingSystem.IsMacOS(),
            System.Environment.GetEnvironmentVariable("XDG_CONFIG_HOME"),
            System.Environment.GetFolderPath(System.Environment.SpecialFolder.LocalApplicationData),
            System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile)),
        "HttpCache",
        FileName);

    /// <summary>The platform's per-user configuration folder, from the values the platform provides.</summary>
    internal static string UserConfigFolder(bool isWindows, bool isMacOS, string? xdgConfigHome, string localAppData, string home)
    {
        if (string.IsNullOrEmpty(home))
        {
            home = Path.GetTempPath();
        }

        if (isWindows)
        {
            // Local, not roaming: the key stays on the machine, as the cache does.
            return string.IsNullOrEmpty(localAppData) ? Path.Combine(home, "AppData", "Local") : localAppData;
        }

        if (isMacOS)
        {
            return Path.Combine(home, "Library", "Application Support");
        }

        // The XDG spec says a relative value is invalid and must be ignored.
        return !string.IsNullOrEmpty(xdgConfigHome) && Path.IsPathFullyQualified(xdgConfigHome)
            ? xdgConfigHome
            : Path.Combine(home, ".config");
    }

    /// <summary>
    /// The secret for a backend: the given one; else the environment variable's; else, for a file store, the
    /// user's key file; for Memory, a random key of this process; for Redis, none. <paramref name="problem"/>
    /// says why a key file could not be used (the process key stands in), else null.
    /// </summary>
    public static (byte[]? Secret, KeySecretSource Source) Resolve(byte[]? given, CacheBackend backend, out string? problem)
    {
        problem = null;
        if (given is { Length: > 0 })
        {
            return (given, KeySecretSource.Given);
        }

        if (System.Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            return (Encoding.UTF8.GetBytes(fromEnvironment), KeySecretSource.Environment);
        }

        switch (backend)
        {
            case CacheBackend.Redis:
                return (null, KeySecretSource.None);
            case CacheBackend.Memory:
                return (ProcessSecret.Value, KeySecretSource.Process);
        }

        try
        {
            return (LoadOrCreate(DefaultFilePath), KeySecretSource.UserKeyFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Answers stay correct with a process key; only entries keyed by secrets are not found by later processes.
            problem = $"The key file {DefaultFilePath} cannot be used ({ex.Message}); answers to requests with secrets are cached for this process only.";
            return (ProcessSecret.Value, KeySecretSource.Process);
        }
    }

    /// <summary>
    /// The secret in <paramref name="path"/>, which is created on first use: 32 random bytes as base64 text,
    /// readable and writable by the current user only (0600 on Unix; on Windows an ACL for that user alone),
    /// written whole to a temporary file and moved into place, so no reader ever sees it half-written. An
    /// existing file is read as it is and keeps its mode.
    /// </summary>
    public static byte[] LoadOrCreate(string path)
    {
        if (!File.Exists(path))
        {
            Create(path);
        }

        var text = File.ReadAllText(path).Trim();
        return text.Length == 0 ? throw new InvalidDataException($"{path} is empty.") : Encoding.UTF8.GetBytes(text);
    }

    private static void Create(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(folder))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(folder);
            }
            else
            {
                Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        var temp = Path.Combine(folder, $".{FileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = OpenOwnerOnly(temp))
            {
                stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))));
                stream.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temp, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process made the key first: this one uses it too. (Two racing at the very same
                // moment may still each keep their own for their lifetime; that costs misses, never a wrong answer.)
            }
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>A new file that only the current user can read or write, from the moment it exists.</summary>
    internal static FileStream OpenOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            var security = new FileSecurity();
            security.SetAccessRuleProtection(isProtected: true, preserveInheritance: false);
            var user = WindowsIdentity.GetCurrent().User!;
            security.SetOwner(user);
            security.AddAccessRule(new FileSystemAccessRule(user, FileSystemRights.FullControl, AccessControlType.Allow));
            return new FileInfo(path).Create(FileMode.CreateNew, FileSystemRights.Write | FileSystemRights.Read, FileShare.None, 4096, FileOptions.None, security);
        }

        return new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
    }
}
