import {
  DataTypes,
  UniqueConstraintError,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Model,
  type ModelStatic,
  type Sequelize,
} from 'sequelize';
import type { Role } from '@skyway/common';
import type { NewAccount, StoredUser, User } from '../domain/accounts';

interface UserRow extends Model<InferAttributes<UserRow>, InferCreationAttributes<UserRow>> {
  id: CreationOptional<number>;
  email: string;
  name: string | null;
  passwordHash: string;
  role: CreationOptional<Role>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

function defineUsers(sequelize: Sequelize): ModelStatic<UserRow> {
  return sequelize.define<UserRow>(
    'User',
    {
      id: { type: DataTypes.INTEGER.UNSIGNED, autoIncrement: true, primaryKey: true },
      email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
      name: { type: DataTypes.STRING(100), allowNull: true },
      passwordHash: { type: DataTypes.STRING(100), allowNull: false },
      role: { type: DataTypes.ENUM('customer', 'admin'), allowNull: false, defaultValue: 'customer' },
      createdAt: DataTypes.DATE(3),
      updatedAt: DataTypes.DATE(3),
    },
    { tableName: 'users' },
  );
}

const toUser = (row: UserRow): User => ({ id: row.id, email: row.email, name: row.name, role: row.role });

/** The `users` table: the only place that names its columns. Every method is one statement. */
export class UsersStore {
  private readonly users: ModelStatic<UserRow>;

  constructor(sequelize: Sequelize) {
    this.users = defineUsers(sequelize);
  }

  /** The new user, or `email-taken` when the (unique) email already has an account. */
  async insert(account: NewAccount, passwordHash: string): Promise<User | 'email-taken'> {
    try {
      return toUser(await this.users.create({ ...account, passwordHash }));
    } catch (err) {
      if (err instanceof UniqueConstraintError) return 'email-taken';
      throw err;
    }
  }

  /** By its normalised email, with the password hash sign-in checks against. */
  async findByEmail(email: string): Promise<StoredUser | undefined> {
    const row = await this.users.findOne({ where: { email } });
    return row ? { ...toUser(row), passwordHash: row.passwordHash } : undefined;
  }

  async findById(id: number): Promise<User | undefined> {
    const row = await this.users.findByPk(id);
    return row ? toUser(row) : undefined;
  }

  /** Only the role (undefined when the account no longer exists): the cheap read behind admin checks. */
  async roleOf(id: number): Promise<Role | undefined> {
    const row = await this.users.findByPk(id, { attributes: ['id', 'role'] });
    return row?.role ?? undefined;
  }

  async setRole(id: number, role: Role): Promise<void> {
    await this.users.update({ role }, { where: { id } });
  }
}

/** Readiness of the gateway's database. */
export const databaseReady = (sequelize: Sequelize) => () => sequelize.query('SELECT 1');
