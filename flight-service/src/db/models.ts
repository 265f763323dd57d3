import {
  DataTypes,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Model,
  type ModelStatic,
  type NonAttribute,
  type Sequelize,
} from 'sequelize';

export interface City extends Model<InferAttributes<City>, InferCreationAttributes<City>> {
  id: CreationOptional<number>;
  name: string;
}

export interface Airport extends Model<InferAttributes<Airport>, InferCreationAttributes<Airport>> {
  id: CreationOptional<number>;
  code: string;
  name: string;
  address: CreationOptional<string | null>;
  cityId: number;
}

export interface Airplane extends Model<InferAttributes<Airplane>, InferCreationAttributes<Airplane>> {
  id: CreationOptional<number>;
  modelNumber: string;
  capacity: number;
  seatsPerRow: CreationOptional<number>;
}

export interface Flight extends Model<InferAttributes<Flight>, InferCreationAttributes<Flight>> {
  id: CreationOptional<number>;
  flightNumber: string;
  airplaneId: number;
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTime: Date;
  arrivalTime: Date;
  price: number;
  boardingGate: CreationOptional<string | null>;
  totalSeats: number;
  availableSeats: number;
  airplane?: NonAttribute<Airplane>;
  departureAirport?: NonAttribute<Airport>;
  arrivalAirport?: NonAttribute<Airport>;
}

export interface Models {
  City: ModelStatic<City>;
  Airport: ModelStatic<Airport>;
  Airplane: ModelStatic<Airplane>;
  Flight: ModelStatic<Flight>;
}

const id = { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true };
// Timestamps stay in the table for operators but are not part of the API's resources.
const options = (tableName: string) => ({
  tableName,
  defaultScope: { attributes: { exclude: ['createdAt', 'updatedAt'] } },
});

/** Defines the models on one Sequelize instance (tables come from the migrations); no module-level state. */
export function initModels(sequelize: Sequelize): Models {
  const City = sequelize.define<City>('City', { id, name: DataTypes.STRING(100) }, options('cities'));
  const Airport = sequelize.define<Airport>(
    'Airport',
    {
      id,
      code: DataTypes.CHAR(3),
      name: DataTypes.STRING(200),
      address: { type: DataTypes.STRING(500), allowNull: true },
      cityId: DataTypes.INTEGER,
    },
    options('airports'),
  );
  const Airplane = sequelize.define<Airplane>(
    'Airplane',
    {
      id,
      modelNumber: DataTypes.STRING(100),
      capacity: DataTypes.INTEGER,
      seatsPerRow: { type: DataTypes.INTEGER, defaultValue: 6 },
    },
    options('airplanes'),
  );
  const Flight = sequelize.define<Flight>(
    'Flight',
    {
      id,
      flightNumber: DataTypes.STRING(10),
      airplaneId: DataTypes.INTEGER,
      departureAirportCode: DataTypes.CHAR(3),
      arrivalAirportCode: DataTypes.CHAR(3),
      departureTime: DataTypes.DATE(3),
      arrivalTime: DataTypes.DATE(3),
      // mysql2 returns BIGINT as a string; prices are safe integers in minor units.
      price: {
        type: DataTypes.BIGINT,
        get(this: Flight) {
          return Number(this.getDataValue('price'));
        },
      },
      boardingGate: { type: DataTypes.STRING(10), allowNull: true },
      totalSeats: DataTypes.INTEGER,
      availableSeats: DataTypes.INTEGER,
    },
    options('flights'),
  );
  Flight.belongsTo(Airplane, { foreignKey: 'airplaneId', as: 'airplane' });
  Flight.belongsTo(Airport, {
    foreignKey: 'departureAirportCode',
    targetKey: 'code',
    as: 'departureAirport',
  });
  Flight.belongsTo(Airport, { foreignKey: 'arrivalAirportCode', targetKey: 'code', as: 'arrivalAirport' });
  return { City, Airport, Airplane, Flight };
}
