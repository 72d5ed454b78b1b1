using System.Data.Common;
using System.Reflection;
using System.Runtime.Loader;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Reaches a cache file with raw SQL, through the Microsoft.Data.Sqlite the module itself loaded in its own
/// load context (this project references no SQLite package, so that what is tested is the module's own
/// resolution). Its types are not ours, but its connection is a <see cref="DbConnection"/>, which is.
/// Only for tests that must damage a file the way a crash or another tool could.
/// </summary>
internal static class SqliteThroughTheModule
{
    /// <summary>Runs one statement on the file; returns the rows changed. The module must have been imported and used.</summary>
    public static int Execute(string databasePath, string sql, params (string Name, object? Value)[] parameters)
    {
        var context = AssemblyLoadContext.All.FirstOrDefault(c => c.Name == "HttpCache")
            ?? throw new InvalidOperationException("The module's load context does not exist yet: import the module and open a store first.");
        var assembly = context.LoadFromAssemblyName(new AssemblyName("Microsoft.Data.Sqlite"));
        var connectionType = assembly.GetType("Microsoft.Data.Sqlite.SqliteConnection", throwOnError: true)!;
        using var connection = (DbConnection)Activator.CreateInstance(connectionType, $"Data Source={databasePath};Pooling=False")!;
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command.ExecuteNonQuery();
    }
}
